//! API access tokens: JWT (RFC 7519) signed with HS256 by a secret the nodes share. Only
//! HS256 is accepted (`alg: none` or any other algorithm is refused), and the expiry is
//! checked against the injected clock, not the library's.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The administrator's id.
    pub sub: i64,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(&self, sub: i64, name: &str, now: i64, lifetime: i64) -> Option<String> {
        let claims = Claims {
            sub,
            name: name.to_string(),
            iat: now,
            exp: now + lifetime,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        if now >= data.claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;

    #[test]
    fn a_token_works_until_it_expires() {
        let keys = TokenKeys::new(b"secret one");
        let t = keys.issue(7, "root", 1000, 900).unwrap();
        assert_eq!(keys.verify(&t, 1899).unwrap().sub, 7);
        assert_eq!(keys.verify(&t, 1900), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_signature_and_alg_none_are_refused() {
        let t = TokenKeys::new(b"secret one")
            .issue(7, "root", 1000, 900)
            .unwrap();
        assert_eq!(
            TokenKeys::new(b"secret two").verify(&t, 1001),
            Err(TokenError::Invalid)
        );
        let keys = TokenKeys::new(b"secret one");
        let claims = t.split('.').nth(1).unwrap();
        let none = format!("{}.{claims}.", B64.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(keys.verify(&none, 1001), Err(TokenError::Invalid));
        let hs512 = format!(
            "{}.{claims}.{}",
            B64.encode(br#"{"alg":"HS512","typ":"JWT"}"#),
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(keys.verify(&hs512, 1001), Err(TokenError::Invalid));
        // A changed claim breaks the signature.
        let forged = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            B64.encode(br#"{"sub":1,"name":"root","iat":1000,"exp":99999999999}"#),
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(keys.verify(&forged, 1001), Err(TokenError::Invalid));
    }
}
