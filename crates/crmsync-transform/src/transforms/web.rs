//! `url_domain`: a web address ⇄ its domain.

use crmsync_core::FieldType;
use serde_json::Value;

use super::{FieldClass, Transform, TransformEnv, TransformError, expect_text};

/// Longer text is no web address anyone typed.
const MAX_URL_LEN: usize = 2_048;

/// `url_domain`: a web address or a bare domain (Salesforce's `Website`:
/// `"https://www.Initech.com/about"`, `"initech.com"`) ⇄ the canonical lower-case domain
/// without `www.` (`"initech.com"`, as HubSpot's `domain` property holds it). Outbound
/// writes `"https://initech.com"`. International domains are kept in their ASCII
/// (punycode) form.
///
/// ```
/// use crmsync_transform::{TransformEnv, transforms::{Transform, UrlDomain}};
/// use serde_json::json;
/// let env = TransformEnv::default();
/// assert_eq!(UrlDomain.inbound(&json!("https://www.Initech.com/about"), &env).ok(),
///            Some(json!("initech.com")));
/// assert_eq!(UrlDomain.outbound(&json!("initech.com"), &env).ok(),
///            Some(json!("https://initech.com")));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct UrlDomain;

impl Transform for UrlDomain {
    fn name(&self) -> &str {
        "url_domain"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        domain_of(expect_text(value, "a web address")?).map(Value::String)
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        let domain = domain_of(expect_text(value, "a domain")?)?;
        Ok(Value::String(format!("https://{domain}")))
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }
}

fn domain_of(text: &str) -> Result<String, TransformError> {
    let text = text.trim();
    let invalid = || TransformError::new("expected a web address such as https://example.com");
    if text.is_empty() || text.len() > MAX_URL_LEN || text.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    let parsed = if text.contains("://") {
        url::Url::parse(text)
    } else {
        url::Url::parse(&format!("https://{text}"))
    }
    .map_err(|_| invalid())?;
    // `user:pass@host` is not a web address (and `mailto:a@b.c` would read as one).
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(invalid());
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(invalid)?;
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    if host.is_empty() {
        return Err(invalid());
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::assert_round_trips;
    use serde_json::json;

    fn env() -> TransformEnv {
        TransformEnv::default()
    }

    #[test]
    fn web_addresses_become_domains() {
        for (remote, domain) in [
            ("https://www.Initech.com/about", "initech.com"),
            ("http://initech.com", "initech.com"),
            ("Initech.COM", "initech.com"),
            ("www.initech.co.uk/", "initech.co.uk"),
            ("initech.com/path?q=1#x", "initech.com"),
            ("https://shop.initech.com:8443", "shop.initech.com"),
            ("https://bücher.example", "xn--bcher-kva.example"),
            ("  initech.com  ", "initech.com"),
        ] {
            assert_eq!(
                UrlDomain.inbound(&json!(remote), &env()).ok(),
                Some(json!(domain)),
                "{remote}"
            );
        }
        for bad in [
            "",
            "not a url",
            "ftp://initech.com",
            "https://",
            "mailto:a@b.c",
        ] {
            assert!(UrlDomain.inbound(&json!(bad), &env()).is_err(), "{bad}");
        }
        assert!(UrlDomain.inbound(&json!(5), &env()).is_err());
        let inputs: Vec<Value> = (0..50)
            .map(|i| json!(format!("https://www.Company{i}.example.com/page/{i}")))
            .collect();
        assert_round_trips(&UrlDomain, &env(), &inputs);
    }
}
