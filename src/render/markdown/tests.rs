//! Tests of the whole markdown renderer, by construct, plus snapshots and property tests.
//!
//! They go through [`render_markdown`] and [`code_blocks`] only, never through one block kind's
//! methods, so the renderer's files can be rearranged without touching them.

use super::*;
use crate::render::wrap::tests::{cell_width, text_of};
use proptest::prelude::*;
use ratatui::style::Modifier;
use ratatui::text::Span;

/// The snapshots of `render` live in `src/render/snapshots`, not next to this file.
const SNAPSHOTS: &str = "../snapshots";

fn render(text: &str, width: u16) -> Vec<Line<'static>> {
    render_markdown(text, width, &Theme::default())
}

fn texts(text: &str, width: u16) -> Vec<String> {
    render(text, width).iter().map(text_of).collect()
}

fn screen(text: &str, width: u16) -> String {
    texts(text, width)
        .iter()
        .map(|l| format!("|{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn find<'a>(lines: &'a [Line<'static>], needle: &str) -> &'a Span<'static> {
    lines
        .iter()
        .flat_map(|l| l.spans.iter())
        .find(|s| s.content.contains(needle))
        .unwrap_or_else(|| panic!("no span with {needle:?}"))
}

#[test]
fn paragraphs_and_emphasis() {
    let theme = Theme::default();
    let lines = render("a *it* **bo** ~~st~~ `co`\n\nnext", 40);
    assert_eq!(
        lines.iter().map(text_of).collect::<Vec<_>>(),
        ["a it bo st co", "", "next"]
    );
    assert!(
        find(&lines, "it")
            .style
            .add_modifier
            .contains(Modifier::ITALIC)
    );
    assert!(
        find(&lines, "bo")
            .style
            .add_modifier
            .contains(Modifier::BOLD)
    );
    assert!(
        find(&lines, "st")
            .style
            .add_modifier
            .contains(Modifier::CROSSED_OUT)
    );
    assert_eq!(find(&lines, "co").style.bg, theme.inline_code.bg);
    assert_eq!(find(&lines, "a ").style.fg, theme.text.fg);
}

#[test]
fn headings_show_level_and_style() {
    let theme = Theme::default();
    let lines = render("# One\n## Two\n### Three", 40);
    assert_eq!(
        lines.iter().map(text_of).collect::<Vec<_>>(),
        ["# One", "", "## Two", "", "### Three"]
    );
    let one = find(&lines, "One");
    assert_eq!(one.style.fg, theme.heading.fg);
    assert!(one.style.add_modifier.contains(Modifier::UNDERLINED));
    assert!(
        !find(&lines, "Two")
            .style
            .add_modifier
            .contains(Modifier::UNDERLINED)
    );
}

#[test]
fn hard_and_soft_breaks() {
    assert_eq!(texts("one\ntwo", 40), ["one two"]);
    assert_eq!(texts("one  \ntwo", 40), ["one", "two"]);
    assert_eq!(texts("one\\\ntwo", 40), ["one", "two"]);
    assert_eq!(texts("a<br>b", 40), ["a", "b"]);
}

#[test]
fn nested_lists_hang_their_indent() {
    let md = "- alpha beta gamma delta\n  - inner one two three\n    1. deep\n- last";
    assert_eq!(
        texts(md, 16),
        [
            "• alpha beta",
            "  gamma delta",
            "  ◦ inner one",
            "    two three",
            "    1. deep",
            "• last",
        ]
    );
    let lines = render(md, 16);
    assert_eq!(lines[0].spans[0].style, Theme::default().list_marker);
}

#[test]
fn ordered_lists_keep_start_number_and_count_up() {
    assert_eq!(texts("7. a\n1. b\n1. c", 20), ["7. a", "8. b", "9. c"]);
    assert_eq!(texts("9. a\n10. b", 20), ["9. a", "10. b"]);
}

#[test]
fn rich_items_are_spaced_simple_ones_are_not() {
    // Loose but simple: compact.
    assert_eq!(texts("- a\n\n- b", 20), ["• a", "• b"]);
    // An item with two paragraphs gets a blank line after it.
    assert_eq!(
        texts("1. a\n\n   more\n2. b", 20),
        ["1. a", "", "   more", "", "2. b"]
    );
    assert_eq!(
        texts("- [ ] todo\n- [x] done", 20),
        ["• [ ] todo", "• [x] done"]
    );
    assert_eq!(texts("-\n- b", 20), ["•", "• b"]);
}

#[test]
fn block_quotes_have_bars_on_every_line() {
    let theme = Theme::default();
    let lines = render("> one two three four\n>\n> > deep", 12);
    assert_eq!(
        lines.iter().map(text_of).collect::<Vec<_>>(),
        ["│ one two", "│ three four", "│", "│ │ deep"]
    );
    assert_eq!(lines[0].spans[0].style.fg, theme.quote.fg);
    assert_eq!(
        find(&lines, "one").style.fg,
        theme.text.patch(theme.quote).fg
    );
}

#[test]
fn links_show_dim_url_unless_it_is_the_text() {
    let theme = Theme::default();
    let lines = render(
        "[docs](https://d.rs) <https://a.b> [https://c.d](https://c.d)",
        80,
    );
    assert_eq!(
        text_of(&lines[0]),
        "docs (https://d.rs) https://a.b https://c.d"
    );
    assert_eq!(find(&lines, "docs").style.fg, theme.link.fg);
    assert!(
        find(&lines, "docs")
            .style
            .add_modifier
            .contains(Modifier::UNDERLINED)
    );
    assert_eq!(find(&lines, "(https://d.rs)").style.fg, theme.link_url.fg);
    assert_eq!(texts("![alt](i.png)", 40), ["[image: alt] (i.png)"]);
}

#[test]
fn horizontal_rule_spans_the_width() {
    assert_eq!(texts("a\n\n---\n\nb", 5), ["a", "", "─────", "", "b"]);
    assert_eq!(texts("> ***", 5), ["│ ───"]);
}

#[test]
fn code_blocks_have_numbered_headers_and_highlighting() {
    let theme = Theme::default();
    let md = "```rust\nfn main() {}\n```\n\ntext\n\n```\nplain\n```\n\n    indented\n";
    let lines = render(md, 30);
    let t: Vec<String> = lines.iter().map(text_of).collect();
    assert_eq!(t[0].trim_end(), " rust  #1");
    assert_eq!(t[1].trim_end(), " fn main() {}");
    assert_eq!(t[5].trim_end(), " code  #2");
    assert_eq!(t[6].trim_end(), " plain");
    assert_eq!(t[8].trim_end(), " code  #3");
    assert_eq!(t[9].trim_end(), " indented");
    for l in &lines {
        assert!(l.width() <= 30);
    }
    // code rows are padded to the width on the code background
    assert_eq!(lines[1].width(), 30);
    assert!(
        lines[1]
            .spans
            .iter()
            .all(|s| s.style.bg == Some(theme.code_bg))
    );
    // highlighted: more than one colour on the rust line
    let colours: std::collections::HashSet<_> = lines[1].spans.iter().map(|s| s.style.fg).collect();
    assert!(colours.len() > 1, "{:?}", lines[1]);
    assert_eq!(lines[0].spans[0].style.bg, theme.code_header.bg);
}

#[test]
fn code_lines_are_hard_wrapped_with_a_marker() {
    let lines = render("```\nabcdefghij\n```", 6);
    let t: Vec<String> = lines.iter().map(text_of).collect();
    assert_eq!(t[1..], [" abcde", "↪fghij"]);
    assert_eq!(lines[2].spans[0].style.fg, Theme::default().dim.fg);
}

#[test]
fn code_blocks_extracts_in_screen_order() {
    let md = "```rust,ignore\nfn a() {}\n```\n\n- item\n\n  ```py\n  x = 1\n  ```\n\npara\n\n    indented\n\n~~~ {.sh}\nls\n~~~\n";
    let blocks = code_blocks(md);
    assert_eq!(
        blocks,
        [
            CodeBlock {
                lang: "rust".into(),
                code: "fn a() {}".into()
            },
            CodeBlock {
                lang: "py".into(),
                code: "x = 1".into()
            },
            CodeBlock {
                lang: String::new(),
                code: "indented".into()
            },
            CodeBlock {
                lang: "sh".into(),
                code: "ls".into()
            },
        ]
    );
    let screen = texts(md, 40).join("\n");
    assert!(screen.contains("#4"));
    assert!(!screen.contains("#5"));
}

#[test]
fn tables_align_by_display_width() {
    let md = "| a | 中文 |\n|---|---:|\n| xx | 1 |\n";
    let lines = render(md, 40);
    let t: Vec<String> = lines.iter().map(text_of).collect();
    assert_eq!(t, ["a  │ 中文", "───┼─────", "xx │    1"]);
    let theme = Theme::default();
    assert_eq!(lines[0].spans[0].content, "a");
    assert_eq!(lines[0].spans[0].style.fg, theme.table_header.fg);
    let widths: Vec<usize> = lines.iter().map(Line::width).collect();
    assert!(widths.iter().all(|&w| w == widths[0]));
}

#[test]
fn narrow_tables_wrap_cells_then_fall_back_to_records() {
    let md = "| name | description |\n|---|---|\n| tern | a fast terminal chat client |\n";
    let t = texts(md, 22);
    assert_eq!(t[0], "name │ description");
    assert!(t.len() > 3, "{t:?}");
    for l in render(md, 22) {
        assert!(l.width() <= 22);
    }
    // far too narrow for two columns: header: value records
    assert_eq!(texts(md, 7)[..2], ["name:", "tern"]);
}

#[test]
fn escapes_never_reach_spans() {
    let md = "a \u{1b}[31mred\u{1b}[0m &#27;[2J &#x9b;1m `\u{1b}]52;c;x\u{7}` ```\u{1b}[1m\n\n```x\u{1b}[1m\ny\u{7}\n```";
    for l in render(md, 30) {
        for s in &l.spans {
            assert!(!s.content.chars().any(char::is_control), "{:?}", s.content);
        }
    }
}

#[test]
fn cjk_emoji_and_tabs_stay_within_width() {
    let md = "中文字符测试中文字符测试 emoji 👨‍👩‍👧‍👦👍🏽 and\ttabs\there\n\n> 日本語のテキスト\n\n- 한국어 텍스트 입니다\n";
    for width in 1..30u16 {
        for l in render(md, width) {
            assert!(cell_width(&l) <= usize::from(width), "{width}: {l:?}");
            assert!(l.width() <= usize::from(width), "{width}: {l:?}");
        }
    }
    assert_eq!(texts("a\tb", 20), ["a   b"]);
}

#[test]
fn zero_width_and_empty_input() {
    assert!(render("# hi\n\ntext", 0).is_empty());
    assert!(render("", 40).is_empty());
    assert!(code_blocks("").is_empty());
}

#[test]
fn plain_text_does_not_need_syntect() {
    // Only a smoke check of the path: no language, no lookup. (Whether syntect is loaded
    // is process-global, so other tests may already have loaded it.)
    let lines = render("```\nx\n```", 10);
    assert_eq!(text_of(&lines[1]).trim_end(), " x");
}

#[test]
fn snapshot_sample_reply() {
    let doc = include_str!("../../../assets/sample-reply.md");
    insta::with_settings!({ snapshot_path => SNAPSHOTS }, {
        insta::assert_snapshot!("sample_reply_60", screen(doc, 60));
        insta::assert_snapshot!("sample_reply_24", screen(doc, 24));
    });
}

#[test]
fn snapshot_styles_of_a_small_reply() {
    let lines = render("## Hi\n\n**bold** and `code`\n\n> quote", 30);
    let dump: Vec<String> = lines
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|s| {
                    format!(
                        "[{}|{:?}|{:?}|{:?}]",
                        s.content, s.style.fg, s.style.bg, s.style.add_modifier
                    )
                })
                .collect::<String>()
        })
        .collect();
    insta::with_settings!({ snapshot_path => SNAPSHOTS }, {
        insta::assert_snapshot!("styles_small", dump.join("\n"));
    });
}

fn arb_markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "\\PC{0,20}",
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just("# ".to_string()),
        Just("- ".to_string()),
        Just("1. ".to_string()),
        Just("> ".to_string()),
        Just("```".to_string()),
        Just("    ".to_string()),
        Just("| a | b |\n|---|---|\n".to_string()),
        Just("|".to_string()),
        Just("**".to_string()),
        Just("`".to_string()),
        Just("[x](y)".to_string()),
        Just("\t".to_string()),
        Just("中文".to_string()),
        Just("👨‍👩‍👧".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("&#27;".to_string()),
        Just("<br>".to_string()),
        Just("---".to_string()),
        Just("[ ] ".to_string()),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn any_input_any_width_fits_and_is_clean(md in arb_markdown(), width in 1u16..80) {
        let lines = render(&md, width);
        for l in &lines {
            prop_assert!(cell_width(l) <= usize::from(width), "{:?}", l);
            prop_assert!(l.width() <= usize::from(width), "{:?}", l);
            for s in &l.spans {
                prop_assert!(!s.content.chars().any(char::is_control), "{:?}", s.content);
            }
        }
        let _ = code_blocks(&md);
    }

    #[test]
    fn arbitrary_strings_never_panic(md in "\\PC*", width in 0u16..200) {
        let _ = render(&md, width);
    }
}
