//! The decision span: one per decided request, with its outcome and reason,
//! and `enduser.id` only as the app asked (plain, a keyed hash, or not at
//! all). A subscriber of this test records every span's fields.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ssr_session::keys::{Algorithm, StaticKeys};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::verify::SpanUserId;
use ssr_session::{Verifier, source::HeaderList};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The fields each decision span ended up with, in creation order.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<HashMap<String, String>>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Spans {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "ssr_session::decision"
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut spans = self.0.lock().unwrap();
        let mut fields = HashMap::new();
        span.record(&mut Fields(&mut fields));
        spans.push(fields);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        let index = span.into_u64() as usize - 1;
        values.record(&mut Fields(&mut spans[index]));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn field<'a>(span: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    span.get(name).map(String::as_str)
}

#[tokio::test]
async fn each_decision_has_a_span_with_its_outcome_and_the_user_id_only_when_asked() {
    let spans = Spans::default();
    tracing::subscriber::set_global_default(spans.clone()).unwrap();
    let key = TestKey::generate(Algorithm::RS256, "k-1");
    let keys = || StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
    let token = TokenBuilder::supertokens("user-1", 3600).sign(&key);
    let expired = TokenBuilder::supertokens("user-1", -60).sign(&key);
    let bearer = |token: &str| HeaderList::new().with("authorization", format!("Bearer {token}"));

    let omitted = Verifier::builder(keys()).build().unwrap();
    assert!(omitted.verify(&bearer(&token)).await.is_valid()); // verified in full
    assert!(omitted.verify(&bearer(&token)).await.is_valid()); // a cache hit
    assert!(omitted.verify(&bearer(&expired)).await.is_needs_refresh());
    assert!(omitted.verify(&HeaderList::new()).await.is_needs_refresh());
    let plain = Verifier::builder(keys())
        .span_user_id(SpanUserId::Plain)
        .build()
        .unwrap();
    assert!(plain.verify(&bearer(&token)).await.is_valid());
    let hashed = Verifier::builder(keys())
        .span_user_id(SpanUserId::keyed_hash(b"a key of the app, from its config"))
        .build()
        .unwrap();
    assert!(hashed.verify(&bearer(&token)).await.is_valid());

    let spans = spans.0.lock().unwrap().clone();
    let seen: Vec<_> = spans
        .iter()
        .map(|span| (field(span, "outcome"), field(span, "reason")))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("valid"), None),
            (Some("valid"), None),
            (Some("needs_refresh"), Some("expired")),
            (Some("needs_refresh"), Some("missing")),
            (Some("valid"), None),
            (Some("valid"), None),
        ]
    );
    for span in &spans[..4] {
        assert_eq!(
            field(span, "enduser.id"),
            None,
            "omitted by default: {span:?}"
        );
    }
    assert_eq!(field(&spans[4], "enduser.id"), Some("user-1"));
    let hash = field(&spans[5], "enduser.id").expect("a keyed hash");
    assert_eq!(hash.len(), 32);
    assert!(!hash.contains("user-1"));
}
