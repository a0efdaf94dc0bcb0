//! Raw `Cookie` / `Authorization` header values → token sources → verifier.
//!
//! Input: header lines separated by `\n`; each line's first byte picks the
//! header (`0` or anything else below `0x40`: `Cookie`; `0x40..0x80`:
//! `Authorization`; `0x80..0xC0`: `X-Access-Token`; above: `X-Other`), the
//! rest is its value, any bytes.
//!
//! Checked: no panic; every token found is a non-empty slice of one of the
//! request's header values; at most `MAX_TOKENS_PER_REQUEST` per source;
//! bearer and named-header tokens carry no surrounding whitespace; the
//! SuperTokens chain gives the cookie's tokens when there are any, else the
//! bearer token; the verifier's outcome passes the shared checks for the
//! token that decided it.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use ssr_session::{
    source::BearerSource, source::CookieSource, source::HeaderList, source::HeaderSource, source::MAX_TOKENS_PER_REQUEST, SessionOutcome,
    source::SourceChain, TokenSource, source::Tokens,
};

fn within(token: &[u8], values: &[&[u8]]) -> bool {
    let start = token.as_ptr() as usize;
    let end = start + token.len();
    values.iter().any(|value| {
        let from = value.as_ptr() as usize;
        from <= start && end <= from + value.len()
    })
}

fn check(tokens: &Tokens<'_>, values: &[&[u8]], trimmed: bool) {
    assert!(tokens.len() <= MAX_TOKENS_PER_REQUEST);
    for token in tokens.as_slice() {
        assert!(!token.is_empty(), "an empty token was returned");
        assert!(
            within(token, values),
            "a token that is not part of a header value"
        );
        if trimmed {
            assert_eq!(
                token.trim_ascii(),
                *token,
                "a token with surrounding whitespace"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderList::new();
    for line in data.split(|&b| b == b'\n') {
        let Some((&selector, value)) = line.split_first() else {
            continue;
        };
        let name = match selector {
            0x00..0x40 => "Cookie",
            0x40..0x80 => "Authorization",
            0x80..0xC0 => "X-Access-Token",
            _ => "X-Other",
        };
        headers.push(name, value);
    }
    let mut values: Vec<&[u8]> = Vec::new();
    for name in ["cookie", "authorization", "x-access-token", "x-other"] {
        ssr_session::source::Headers::for_each_value(&headers, name, &mut |v| values.push(v));
    }

    let cookies = CookieSource::default().tokens(&headers);
    check(&cookies, &values, false);
    let bearer = BearerSource.tokens(&headers);
    check(&bearer, &values, true);
    assert!(bearer.len() <= 1);
    let named = HeaderSource::new("X-Access-Token").tokens(&headers);
    check(&named, &values, true);
    assert!(named.len() <= 1);

    let chain = SourceChain::supertokens().tokens(&headers);
    let expected = if cookies.is_empty() { bearer } else { cookies };
    assert_eq!(
        chain.as_slice(),
        expected.as_slice(),
        "the chain is cookie, then bearer"
    );

    let outcome = common::run(common::verifier(), &headers);
    match &outcome {
        SessionOutcome::NeedsRefresh(ssr_session::NeedsRefreshReason::Missing) => {
            assert!(chain.is_empty(), "missing although a token was found");
        }
        SessionOutcome::Valid(_) => {
            // The first valid token wins.
            let token = chain
                .as_slice()
                .iter()
                .find(|token| common::run(common::raw_verifier(), &raw(token)).is_valid())
                .expect("valid means one of the tokens is valid");
            common::check_outcome(token, &outcome);
        }
        other => {
            // No token is valid; the first one decides.
            let first = chain.as_slice().first().expect("a token decided");
            common::check_outcome(first, other);
            for token in chain.as_slice() {
                assert!(!common::run(common::raw_verifier(), &raw(token)).is_valid());
            }
        }
    }
});

fn raw(token: &[u8]) -> HeaderList {
    HeaderList::new().with("x-token", token.to_vec())
}
