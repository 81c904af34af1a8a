//! Tests of theme loading: built-ins, user files, `extends`, errors, ids.

use std::collections::BTreeMap;

use ratatui::style::Modifier;

use super::*;

#[test]
fn builtins_parse_and_define_every_slot() {
    for (name, src) in BUILTIN {
        let theme = Theme::builtin(name).expect(name);
        assert_eq!(&theme.name, name);
        let table: BTreeMap<String, toml::Value> = toml::from_str(src).unwrap();
        for slot in SLOT_NAMES {
            assert!(table.contains_key(*slot), "{name}.toml lacks `{slot}`");
        }
    }
    assert_eq!(Theme::names(), vec!["dark", "light"]);
}

#[test]
fn ids_are_stable_and_content_based() {
    let a = Theme::builtin("dark").unwrap();
    let b = Theme::builtin("dark").unwrap();
    let l = Theme::builtin("light").unwrap();
    assert_eq!(a.id(), b.id());
    assert_ne!(a.id(), l.id());
    let mut c = a.clone();
    c.text = c.text.fg(Color::Indexed(42));
    c.refresh_id();
    assert_ne!(a.id(), c.id());
}

#[test]
fn user_theme_extends_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "extends = \"light\"\ntext = \"#010203\"\nheading = { fg = \"red\", bold = true }\n",
    )
    .unwrap();
    let t = Theme::load("mine", Some(dir.path())).unwrap();
    let light = Theme::builtin("light").unwrap();
    assert_eq!(t.name, "mine");
    assert_eq!(t.text.fg, Some(Color::Rgb(1, 2, 3)));
    assert_eq!(t.heading.fg, Some(Color::Red));
    assert!(t.heading.add_modifier.contains(Modifier::BOLD));
    assert_eq!(t.code_bg, light.code_bg);
    assert_eq!(t.syntax_theme, light.syntax_theme);
    assert!(Theme::available(Some(dir.path())).contains(&"mine".to_string()));
}

#[test]
fn user_file_may_replace_a_builtin_and_extend_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dark.toml"),
        "extends = \"dark\"\ndim = \"#000001\"\n",
    )
    .unwrap();
    let t = Theme::load("dark", Some(dir.path())).unwrap();
    assert_eq!(t.dim.fg, Some(Color::Rgb(0, 0, 1)));
    assert_eq!(t.text, Theme::builtin("dark").unwrap().text);
}

#[test]
fn errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "text = \"#112233\"\n\nlink = \"notacolour\"\n").unwrap();
    let err = Theme::load("bad", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.toml:3"), "{err}");
    assert!(err.contains("`link`"), "{err}");
    assert!(err.contains("notacolour"), "{err}");

    std::fs::write(&path, "text = \"red\"\nbogus = \"red\"\n").unwrap();
    let err = Theme::load("bad", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.toml:2") && err.contains("`bogus`") && err.contains("unknown"),
        "{err}"
    );

    std::fs::write(&path, "text = { fg = \"red\", blink = true }\n").unwrap();
    let err = Theme::load("bad", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.toml:1") && err.contains("blink"), "{err}");

    std::fs::write(&path, "text = [\n").unwrap();
    let err = Theme::load("bad", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.toml") && err.contains("line"), "{err}");

    std::fs::write(&path, "syntax_theme = \"nope\"\n").unwrap();
    let err = Theme::load("bad", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("syntax_theme") && err.contains("nope"),
        "{err}"
    );
}

#[test]
fn not_found_invalid_and_cycles() {
    let err = Theme::load("nope", None).unwrap_err();
    assert!(matches!(err, ThemeError::NotFound { .. }));
    assert!(err.to_string().contains("dark"));
    assert!(matches!(
        Theme::load("../etc/passwd", None),
        Err(ThemeError::InvalidName(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), "extends = \"b\"\n").unwrap();
    std::fs::write(dir.path().join("b.toml"), "extends = \"a\"\n").unwrap();
    let err = Theme::load("a", Some(dir.path())).unwrap_err();
    assert!(matches!(err, ThemeError::ExtendsCycle { .. }), "{err}");
    std::fs::write(dir.path().join("c.toml"), "extends = \"zzz\"\n").unwrap();
    let err = Theme::load("c", Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("c.toml:1") && err.contains("extends"), "{err}");
}

#[test]
fn partial_theme_without_extends_starts_from_dark() {
    let t = Theme::from_toml("accent = \"yellow\"\n", Path::new("x.toml"), None).unwrap();
    let dark = Theme::builtin("dark").unwrap();
    assert_eq!(t.accent.fg, Some(Color::Yellow));
    assert_eq!(t.text, dark.text);
    assert_eq!(t.name, "x");
}
