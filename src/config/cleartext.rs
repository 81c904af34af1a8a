//! The plain-http warning: requests (and the key) sent over `http://` to a host other than
//! this machine. Apart because deciding "this machine" (127.0.0.0/8, ::1 and its IPv4-mapped
//! form, `localhost` and its subdomains) is its own small rule with its own tests.

use super::Config;

impl Config {
    /// A warning when requests (and the key) would go in clear text over `http://` to a host
    /// other than this machine (127.0.0.0/8, ::1, localhost).
    pub fn cleartext_warning(&self) -> Option<String> {
        cleartext_warning(&self.base_url)
    }

    /// The same warning, short enough for the app's status line.
    pub fn cleartext_notice(&self) -> Option<String> {
        cleartext_host(&self.base_url)
            .map(|host| format!("warning: plain http: the API key goes to {host} in clear text"))
    }
}

fn cleartext_warning(base_url: &str) -> Option<String> {
    cleartext_host(base_url).map(|_| {
        format!(
            "{} is plain http: the API key and every message travel in clear text; \
             use https:// unless this network is yours",
            crate::api::client::without_credentials(base_url)
        )
    })
}

/// The host of an `http://` URL that is not this machine.
fn cleartext_host(base_url: &str) -> Option<String> {
    let url = reqwest::Url::parse(base_url).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?;
    let local = match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    (!local).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_warns_only_for_other_hosts() {
        for url in [
            "http://10.255.255.1:9",
            "http://api.example.com/v1",
            "http://[2001:db8::1]:80",
            "http://localhost.example.com",
        ] {
            let warning = cleartext_warning(url).unwrap_or_else(|| panic!("{url} warns"));
            assert!(
                warning.contains(url) && warning.contains("clear text"),
                "{warning}"
            );
        }
        for url in [
            "https://api.apifree.ai",
            "http://127.0.0.1:8787",
            "http://127.1.2.3",
            "http://localhost:8787",
            "http://LOCALHOST.",
            "http://app.localhost",
            "http://[::1]:8787",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert_eq!(cleartext_warning(url), None, "{url}");
        }
        let warning = cleartext_warning("http://u:SECRETPW@192.0.2.2:8787").unwrap();
        assert!(!warning.contains("SECRETPW"), "{warning}");
        assert!(
            warning.starts_with("http://192.0.2.2:8787 is plain http"),
            "{warning}"
        );
    }
}
