//! Saved conversations built by hand, as the store holds them: fixed ids and fixed times, so two
//! builds are equal and what a command prints from them is the same on every run.
//!
//! Included by `tests/common/mod.rs` (as `common::stored`) and, in the tests that use only these,
//! with `#[path = "common/stored.rs"] mod stored;`.
#![allow(dead_code)]

use tern::api::ContentBlock;
use tern::store::{Conversation, MessageStatus, StoredMessage};

/// 2023-11-14T22:13:20Z: when the fixtures happen, unless a test says otherwise.
pub const T0: i64 = 1_700_000_000_000;

/// An empty conversation `id` titled `title`, created and last updated at `at`.
pub fn conversation(id: &str, title: &str, at: i64) -> Conversation {
    Conversation::new_at(id.to_owned(), title, at)
}

/// The id of message `seq` of conversation `conversation_id`.
pub fn message_id(conversation_id: &str, seq: i64) -> String {
    format!("{conversation_id}-{seq}")
}

/// The user's message `seq` of `conversation_id`, written at `at`.
pub fn user_message(conversation_id: &str, seq: i64, text: &str, at: i64) -> StoredMessage {
    StoredMessage::user_at(
        message_id(conversation_id, seq),
        conversation_id,
        seq,
        text,
        at,
    )
}

/// A finished reply `seq` of `conversation_id` by `model` holding `content`, written at `at`.
pub fn answer(
    conversation_id: &str,
    seq: i64,
    model: &str,
    content: Vec<ContentBlock>,
    at: i64,
) -> StoredMessage {
    let mut m = StoredMessage::assistant_streaming_at(
        message_id(conversation_id, seq),
        conversation_id,
        seq,
        model,
        at,
    );
    m.content = content;
    m.stop_reason = Some("end_turn".into());
    m.status = MessageStatus::Complete;
    m
}

/// A saved conversation `id` titled `title`: one question, one answer by `model`, at [`T0`].
pub fn saved_conversation(
    id: &str,
    title: &str,
    model: &str,
) -> (Conversation, Vec<StoredMessage>) {
    let mut conversation = conversation(id, title, T0);
    conversation.last_model = Some(model.to_owned());
    let user = user_message(id, 0, "earlier question", T0);
    let mut reply = answer(
        id,
        1,
        model,
        vec![ContentBlock::text("earlier answer")],
        T0 + 1_000,
    );
    reply.parent_id = Some(user.id.clone());
    (conversation, vec![user, reply])
}
