//! A conversation is a tree: each message names its parent, and messages with one parent are
//! siblings (a regenerated reply, an edited prompt). A pane shows and sends one path through
//! it, the active path.
//!
//! The pane keeps that path in `Pane::messages`, root first, exactly as a line of messages was
//! kept before there were branches: the view, the request and the stream code read a path and
//! nothing else. Every other message waits in `Pane::off_path`, and `Pane::children` indexes
//! both by parent (children in the order they were written), so a message's siblings and the
//! branch under one are found without a scan. A switch moves messages between the two; a
//! message is only ever in one of them.
//!
//! Which branch a switch lands on: the newest message under the chosen sibling (the highest
//! `seq`), so going back to a branch shows where it was left.

use std::collections::HashMap;

use super::pane::{ChatMessage, Pane};
use crate::store::StoredMessage;

/// Child ids of each message (`None`: the roots), oldest first.
pub type Children = HashMap<Option<String>, Vec<String>>;

impl Pane {
    /// Hold `all` the messages of the conversation (any order): the path ends at `leaf` when it
    /// is one of them, else at the newest message.
    pub fn set_tree(&mut self, mut all: Vec<StoredMessage>, leaf: Option<&str>) {
        all.sort_by_key(|m| m.seq);
        // Messages that name no parent at all are a line in `seq` order (written before
        // messages named their parents).
        if all.iter().all(|m| m.parent_id.is_none()) {
            for i in 1..all.len() {
                all[i].parent_id = Some(all[i - 1].id.clone());
            }
        }
        self.children.clear();
        for m in &all {
            self.children
                .entry(m.parent_id.clone())
                .or_default()
                .push(m.id.clone());
        }
        let leaf = leaf
            .filter(|id| all.iter().any(|m| m.id == *id))
            .map(str::to_owned)
            .or_else(|| all.last().map(|m| m.id.clone()));
        let mut off: HashMap<String, ChatMessage> = all
            .into_iter()
            .map(|m| (m.id.clone(), ChatMessage::new(m)))
            .collect();
        self.messages = leaf.map_or_else(Vec::new, |leaf| take_path_to(&mut off, &leaf));
        self.off_path = off;
        self.refresh_branch_marks();
    }

    /// Append `message` to the active path (its parent is the path's last message).
    pub fn push_message(&mut self, message: StoredMessage) {
        self.children
            .entry(message.parent_id.clone())
            .or_default()
            .push(message.id.clone());
        self.messages.push(ChatMessage::new(message));
        self.refresh_branch_marks();
    }

    /// Add `message` to the tree beside the path (a compare's other replies).
    pub fn add_off_path(&mut self, message: StoredMessage) {
        self.children
            .entry(message.parent_id.clone())
            .or_default()
            .push(message.id.clone());
        self.off_path
            .insert(message.id.clone(), ChatMessage::new(message));
        self.refresh_branch_marks();
    }

    /// The message `id`, on the path or off it.
    pub fn message(&self, id: &str) -> Option<&ChatMessage> {
        self.off_path
            .get(id)
            .or_else(|| self.messages.iter().rev().find(|m| m.stored.id == id))
    }

    /// The message `id`, on the path or off it, to change.
    pub fn message_mut(&mut self, id: &str) -> Option<&mut ChatMessage> {
        match self.off_path.get_mut(id) {
            Some(message) => Some(message),
            None => self.messages.iter_mut().rev().find(|m| m.stored.id == id),
        }
    }

    /// Leave the path at `index`: that message and those after it go off the path (they stay
    /// in the tree), so the next message written there is their sibling.
    pub fn branch_at(&mut self, index: usize) {
        for message in self.messages.drain(index.min(self.messages.len())..) {
            self.off_path.insert(message.stored.id.clone(), message);
        }
        self.refresh_branch_marks();
    }

    /// The siblings of the path's message `index` (itself included): its 1-based place among
    /// them, and how many there are.
    pub fn siblings(&self, index: usize) -> (usize, usize) {
        let Some(message) = self.messages.get(index) else {
            return (1, 1);
        };
        match self.children.get(&message.stored.parent_id) {
            Some(ids) => {
                let at = ids.iter().position(|id| *id == message.stored.id);
                (at.map_or(1, |i| i + 1), ids.len().max(1))
            }
            None => (1, 1),
        }
    }

    /// Show the sibling `step` places from the path's message `index` (wrapping around), with
    /// the newest branch under it; the new path's last message id, or `None` if it has no
    /// siblings.
    pub fn switch_sibling(&mut self, index: usize, step: isize) -> Option<String> {
        let message = self.messages.get(index)?;
        let ids = self.children.get(&message.stored.parent_id)?;
        if ids.len() < 2 {
            return None;
        }
        let at = ids.iter().position(|id| *id == message.stored.id)?;
        let to = (at as isize + step).rem_euclid(ids.len() as isize) as usize;
        let target = ids[to].clone();
        self.show_branch(index, &target)
    }

    /// Make the path go through message `id` (anywhere in the tree; a path that already
    /// does stays), down to the newest message under it; the new path's last message id. `None` (nothing changes) if `id` is
    /// not in the tree.
    pub fn show_message(&mut self, id: &str) -> Option<String> {
        // Already shown: nothing moves.
        if self.messages.iter().any(|m| m.stored.id == id) {
            return self.messages.last().map(|m| m.stored.id.clone());
        }
        // Where its branch leaves the path: the first ancestor on it.
        let mut chain = vec![id.to_owned()];
        loop {
            let parent = self.off_path.get(chain.last()?)?.stored.parent_id.clone();
            match parent {
                Some(p) if self.off_path.contains_key(&p) => chain.push(p),
                Some(p) => {
                    let on_path = self.messages.iter().position(|m| m.stored.id == p)?;
                    let branch_root = chain.last()?.clone();
                    return self.show_branch_from(on_path + 1, &branch_root, id);
                }
                None => {
                    let branch_root = chain.last()?.clone();
                    return self.show_branch_from(0, &branch_root, id);
                }
            }
        }
    }

    /// The path up to `index`, then `target` (a child of the message before `index`) and the
    /// newest message under it.
    fn show_branch(&mut self, index: usize, target: &str) -> Option<String> {
        self.show_branch_from(index, target, target)
    }

    /// The path up to `index`, then from `branch_root` down through `through` to the newest
    /// message under `through`.
    fn show_branch_from(
        &mut self,
        index: usize,
        branch_root: &str,
        through: &str,
    ) -> Option<String> {
        let leaf = self.newest_under(through)?;
        self.branch_at(index);
        let path = take_path_to(&mut self.off_path, &leaf);
        // `take_path_to` climbs to the root; the part above `branch_root` is already shown.
        let start = path.iter().position(|m| m.stored.id == branch_root)?;
        let mut path = path;
        let above: Vec<ChatMessage> = path.drain(..start).collect();
        for message in above {
            self.off_path.insert(message.stored.id.clone(), message);
        }
        for message in &mut path {
            message.version += 1;
        }
        self.messages.extend(path);
        self.refresh_branch_marks();
        Some(leaf)
    }

    /// The newest message (highest `seq`) of the subtree under `id`, `id` itself included.
    fn newest_under(&self, id: &str) -> Option<String> {
        let seq_of = |id: &str| {
            self.off_path
                .get(id)
                .or_else(|| self.messages.iter().find(|m| m.stored.id == id))
                .map(|m| m.stored.seq)
        };
        let mut best = (seq_of(id)?, id.to_owned());
        let mut stack = vec![id.to_owned()];
        while let Some(next) = stack.pop() {
            for child in self.children.get(&Some(next)).into_iter().flatten() {
                if let Some(seq) = seq_of(child)
                    && seq > best.0
                {
                    best = (seq, child.clone());
                }
                stack.push(child.clone());
            }
        }
        Some(best.1)
    }

    /// Delete the path's message `index` and everything under it from the pane: a sibling of
    /// it is shown in its place (the previous one, else the next), or the path ends at its
    /// parent. The ids deleted and the new path's last message id.
    pub fn delete_branch(&mut self, index: usize) -> Option<(Vec<String>, Option<String>)> {
        let id = self.messages.get(index)?.stored.id.clone();
        let parent = self.messages[index].stored.parent_id.clone();
        let leaf = match self.siblings(index) {
            (1, 1) => {
                self.branch_at(index);
                self.messages.last().map(|m| m.stored.id.clone())
            }
            (1, _) => self.switch_sibling(index, 1),
            _ => self.switch_sibling(index, -1),
        };
        let mut deleted = Vec::new();
        let mut stack = vec![id.clone()];
        while let Some(next) = stack.pop() {
            self.off_path.remove(&next);
            if let Some(children) = self.children.remove(&Some(next.clone())) {
                stack.extend(children);
            }
            deleted.push(next);
        }
        if let Some(ids) = self.children.get_mut(&parent) {
            ids.retain(|child| *child != id);
        }
        self.refresh_branch_marks();
        Some((deleted, leaf))
    }

    /// The `seq` the next message gets: after every message of the tree.
    pub fn next_seq(&self) -> i64 {
        let path = self.messages.iter().map(|m| m.stored.seq);
        let off = self.off_path.values().map(|m| m.stored.seq);
        path.chain(off).max().map_or(0, |s| s + 1)
    }

    /// How many branches the tree has (its leaves).
    pub fn branch_count(&self) -> usize {
        let leaf = |m: &ChatMessage| !self.children.contains_key(&Some(m.stored.id.clone()));
        self.messages.iter().filter(|m| leaf(m)).count()
            + self.off_path.values().filter(|m| leaf(m)).count()
    }

    /// Set each path message's sibling mark (`‹2/3›`) from the tree; the view redraws the
    /// ones that changed.
    fn refresh_branch_marks(&mut self) {
        for index in 0..self.messages.len() {
            let (at, of) = self.siblings(index);
            let mark = (of > 1).then_some((at, of));
            let message = &mut self.messages[index];
            if message.branch != mark {
                message.branch = mark;
                message.version += 1;
            }
        }
    }
}

/// Take the messages from the root down to `leaf` out of `off`, root first (stopping early if
/// a parent is missing).
fn take_path_to(off: &mut HashMap<String, ChatMessage>, leaf: &str) -> Vec<ChatMessage> {
    let mut path = Vec::new();
    let mut next = Some(leaf.to_owned());
    while let Some(id) = next {
        let Some(message) = off.remove(&id) else {
            break;
        };
        next = message.stored.parent_id.clone();
        path.push(message);
    }
    path.reverse();
    path
}
