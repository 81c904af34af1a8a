//! The configuration's merge, checked against a real file in a temporary directory: precedence,
//! key sources, strict parsing, the lenient load, models and the range checks.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::api::ApiError;

fn load(
    file: Option<&str>,
    env: &[(&str, &str)],
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = overrides;
    let path = dir.path().join("config.toml");
    std::fs::write(&path, file.unwrap_or("")).unwrap();
    overrides.config_file = Some(path);
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load_with(&overrides, &|k| env.get(k).cloned())
}

#[test]
fn defaults() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.base_url, DEFAULT_BASE_URL);
    assert_eq!(c.model, DEFAULT_MODEL);
    assert_eq!(c.max_tokens, 4096);
    assert_eq!(c.max_retries, 2);
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.first_byte_timeout, Duration::from_secs(30));
    assert_eq!(c.idle_timeout, Duration::from_secs(90));
    assert_eq!(c.models.len(), 6);
    assert!(!c.has_key());
}

#[test]
fn precedence_flag_env_file_default() {
    let file = "model = \"from-file\"\nbase_url = \"http://file\"\napi_key = \"file-key\"\nmax_tokens = 100\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    assert_eq!(
        (c.model.as_str(), c.base_url.as_str(), c.max_tokens),
        ("from-file", "http://file", 100)
    );
    let c = load(
        Some(file),
        &[
            ("TERN_MODEL", "from-env"),
            ("APIFREE_BASE_URL", "http://env"),
        ],
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        (c.model.as_str(), c.base_url.as_str()),
        ("from-env", "http://env")
    );
    let flags = Overrides {
        model: Some("from-flag".into()),
        max_tokens: Some(7),
        ..Default::default()
    };
    let c = load(Some(file), &[("TERN_MODEL", "from-env")], flags).unwrap();
    assert_eq!((c.model.as_str(), c.max_tokens), ("from-flag", 7));
}

#[tokio::test]
async fn key_sources() {
    let c = load(
        Some("api_key = \"file\""),
        &[("APIFREE_API_KEY", "env")],
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.resolve_key().await.unwrap().expose(), "env");
    let c = load(
        Some("api_key_command = \"echo  from-cmd \""),
        &[],
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.resolve_key().await.unwrap().expose(), "from-cmd");
    let c = load(
        Some("api_key_command = \"exit 3\""),
        &[],
        Overrides::default(),
    )
    .unwrap();
    assert!(matches!(
        c.resolve_key().await,
        Err(ApiError::KeyCommand(_))
    ));
    let c = load(None, &[], Overrides::default()).unwrap();
    assert!(matches!(c.resolve_key().await, Err(ApiError::MissingKey)));
    assert!(!format!("{c:?}").contains("env"));
}

#[test]
fn invalid_file_names_line_and_field() {
    let err = load(
        Some("model = \"x\"\nmax_tokenz = 5\n"),
        &[],
        Overrides::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("config.toml"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains("max_tokenz"), "{text}");
    let err = load(Some("max_tokens = \"lots\"\n"), &[], Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn lenient_load_warns_and_uses_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "model = \"x\"\nmax_tokenz = 5\n").unwrap();
    let overrides = Overrides {
        config_file: Some(path),
        ..Default::default()
    };
    let env = |k: &str| (k == "APIFREE_BASE_URL").then(|| "http://127.0.0.1:1".to_owned());
    assert!(Config::load_with(&overrides, &env).is_err());
    let c = Config::load_lenient_with(&overrides, &env).unwrap();
    assert_eq!(c.model, DEFAULT_MODEL, "nothing from the broken file");
    assert_eq!(
        c.base_url, "http://127.0.0.1:1",
        "the environment still applies"
    );
    assert_eq!(c.file, None);
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("max_tokenz"), "{:?}", c.warnings);
    // A broken environment is still an error.
    let bad_env = |k: &str| (k == "APIFREE_BASE_URL").then(|| "ftp://x".to_owned());
    assert!(Config::load_lenient_with(&overrides, &bad_env).is_err());
}

#[test]
fn extra_models_and_prices() {
    let file = "extra_models = [\"my-model\"]\n[models.\"claude-haiku-4.5\"]\ninput_price = 0.5\n[models.other]\ncontext_window = 1000\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    assert_eq!(c.models.len(), 8);
    assert_eq!(
        c.model_spec("claude-haiku-4.5").unwrap().input_price,
        Some(0.5)
    );
    assert_eq!(c.model_spec("other").unwrap().context_window, 1000);
    assert!(!c.model_spec("my-model").unwrap().builtin);
}

#[cfg(unix)]
#[test]
fn world_readable_key_file_warns() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "api_key = \"k\"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let overrides = Overrides {
        config_file: Some(path.clone()),
        ..Default::default()
    };
    let c = Config::load_with(&overrides, &|_| None).unwrap();
    assert_eq!(c.warnings.len(), 1);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = Config::load_with(&overrides, &|_| None).unwrap();
    assert!(c.warnings.is_empty());
}

#[test]
fn out_of_range_values_are_errors() {
    assert!(load(Some("temperature = 3.0"), &[], Overrides::default()).is_err());
    for (text, field) in [
        ("temperature = 1.5", "temperature"),
        ("top_p = 1.01", "top_p"),
    ] {
        let err = load(Some(text), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }
    let flag = Overrides {
        temperature: Some(1.2),
        ..Default::default()
    };
    assert!(load(None, &[], flag).is_err());
    assert!(
        load(
            Some("temperature = 1.0\ntop_p = 0"),
            &[],
            Overrides::default()
        )
        .is_ok()
    );
    assert!(load(Some("base_url = \"ftp://x\""), &[], Overrides::default()).is_err());
}

#[test]
fn request_settings_parse_and_check() {
    let file = "max_tokens = 8000\nthinking = 4096\neffort = \"max\"\ntop_k = 3\n\
                stop_sequences = [\"END\"]\nuser_id = \"u\"\nservice_tier = \"auto\"\n\
                auth = \"x-api-key\"\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    assert_eq!(c.request.thinking, Thinking::Budget(4096));
    assert_eq!(c.request.effort, Some(Effort::Max));
    assert_eq!(
        (c.request.top_k, c.request.stop_sequences.as_slice()),
        (Some(3), &["END".to_owned()][..])
    );
    assert_eq!(c.request.service_tier, Some(ServiceTier::Auto));
    assert_eq!(c.auth, crate::api::AuthScheme::XApiKey);
    let c = load(Some("thinking = \"adaptive\""), &[], Overrides::default()).unwrap();
    assert_eq!(c.request.thinking, Thinking::Adaptive);
    assert_eq!(c.auth, crate::api::AuthScheme::Bearer, "the default");
    for (text, field, says) in [
        ("thinking = 4096", "thinking", "less than max_tokens (4096)"),
        ("thinking = 1000", "thinking", "at least 1024"),
        ("top_k = 0", "top_k", "at least 1"),
        ("stop_sequences = [\" \"]", "stop_sequences", "blank"),
    ] {
        let err = load(Some(text), &[], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(field) && err.contains(says), "{text}: {err}");
    }
    for text in [
        "thinking = \"on\"",
        "effort = \"huge\"",
        "auth = \"basic\"",
        "service_tier = \"x\"",
    ] {
        let err = load(Some(text), &[], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{text}: {err}");
    }
    // A flag beats the file, and is checked against max_tokens the same way.
    let flags = Overrides {
        thinking: Some(Thinking::Off),
        ..Default::default()
    };
    assert_eq!(
        load(Some("thinking = 2048"), &[], flags)
            .unwrap()
            .request
            .thinking,
        Thinking::Off
    );
}

#[test]
fn extra_body_keeps_only_fields_tern_does_not_set() {
    let file = "[extra_body]\nroute = \"eu\"\nstream = false\nnested = { a = [1, 2] }\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    assert_eq!(
        c.request.extra_body.get("route"),
        Some(&serde_json::json!("eu"))
    );
    assert_eq!(
        c.request.extra_body.get("nested"),
        Some(&serde_json::json!({"a": [1, 2]}))
    );
    assert!(!c.request.extra_body.contains_key("stream"));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("extra_body.stream"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn capabilities_from_the_table_and_the_file() {
    for id in [
        "claude-opus-4.6",
        "claude-opus-4-6",
        "anthropic/claude-sonnet-4-6-v1",
    ] {
        let caps = builtin_capabilities(id);
        assert!(caps.adaptive_thinking, "{id}");
        assert_eq!(caps.effort, Effort::ALL, "{id}");
    }
    let opus45 = builtin_capabilities("claude-opus-4.5");
    assert!(!opus45.adaptive_thinking);
    assert!(opus45.effort.contains(&Effort::High) && !opus45.effort.contains(&Effort::Max));
    for id in [
        "claude-sonnet-4.5",
        "claude-haiku-4.5",
        "claude-sonnet-4",
        "claude-opus-4-60",
    ] {
        assert_eq!(builtin_capabilities(id), Capabilities::default(), "{id}");
    }
    let file = "[models.\"claude-sonnet-4.6\"]\neffort_levels = []\n[models.mine]\nadaptive_thinking = true\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    assert!(c.capabilities("claude-sonnet-4.6").effort.is_empty());
    assert!(c.capabilities("claude-sonnet-4.6").adaptive_thinking);
    assert!(c.capabilities("mine").adaptive_thinking);
    // What the endpoint says beats the table, not the file.
    let mut models = c.models.clone();
    let info: crate::api::types::ModelInfo = serde_json::from_value(serde_json::json!({
        "id": "claude-sonnet-4.6",
        "capabilities": {"effort": {"supported": true, "low": {"supported": true}},
                         "thinking": {"supported": true, "types": {"adaptive": {"supported": false}}}}
    }))
    .unwrap();
    learn_models(&mut models, &[info]);
    let caps = capabilities_of(&models, "claude-sonnet-4.6");
    assert!(!caps.adaptive_thinking, "the endpoint's word");
    assert!(caps.effort.is_empty(), "the file's word");
}

#[test]
fn prompt_cache_defaults_to_5m_and_is_checked() {
    use super::PromptCache;
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.request.prompt_cache, PromptCache::FiveMinutes);
    assert_eq!(c.request_defaults().prompt_cache, PromptCache::FiveMinutes);
    for (text, want) in [
        ("prompt_cache = \"1h\"", PromptCache::OneHour),
        ("prompt_cache = \"off\"", PromptCache::Off),
        ("prompt_cache = \"5m\"", PromptCache::FiveMinutes),
    ] {
        assert_eq!(
            load(Some(text), &[], Overrides::default())
                .unwrap()
                .request
                .prompt_cache,
            want
        );
    }
    let err = load(Some("prompt_cache = \"1d\""), &[], Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1") && err.contains("5m"), "{err}");
}

#[test]
fn cache_prices_come_from_the_table_and_the_file_overrides_them() {
    let c = load(None, &[], Overrides::default()).unwrap();
    let sonnet = c.model_spec("claude-sonnet-4.6").unwrap();
    assert_eq!(sonnet.cache_write_5m_price, Some(3.75));
    assert_eq!(sonnet.cache_write_1h_price, Some(6.0));
    assert_eq!(sonnet.cache_read_price, Some(0.3));
    let file = "[models.\"claude-sonnet-4.6\"]\ncache_read_price = 0.5\n\
                [models.\"claude-haiku-4.5\"]\ninput_price = 2.0\n\
                [models.custom]\ninput_price = 10.0\ncache_write_1h_price = 15.0\n";
    let c = load(Some(file), &[], Overrides::default()).unwrap();
    let sonnet = c.model_spec("claude-sonnet-4.6").unwrap();
    assert_eq!(
        (sonnet.cache_read_price, sonnet.cache_write_5m_price),
        (Some(0.5), Some(3.75))
    );
    // A new input price moves the cache prices the file does not give with it.
    let haiku = c.model_spec("claude-haiku-4.5").unwrap();
    assert_eq!(haiku.cache_write_5m_price, Some(2.5));
    let custom = c.model_spec("custom").unwrap();
    assert_eq!(
        (
            custom.cache_write_5m_price,
            custom.cache_write_1h_price,
            custom.cache_read_price
        ),
        (Some(12.5), Some(15.0), Some(1.0))
    );
}

#[test]
fn images_is_auto_on_or_off() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.images, Images::Auto);
    for (text, want) in [
        ("on", Images::On),
        ("off", Images::Off),
        ("auto", Images::Auto),
    ] {
        let c = load(
            Some(&format!("images = \"{text}\"")),
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.images, want);
    }
    assert!(load(Some("images = \"yes\""), &[], Overrides::default()).is_err());
}
