//! The record's changes and its JSON.

use super::super::record::status_text;
use super::*;
use crate::domain::DomainError;
use serde_json::json;

fn task(era: Era) -> TaskRecord {
    TaskRecord::new(
        NewTask {
            owner: "alice".into(),
            era,
            tool: "t".into(),
            arguments: json!({}),
            ttl: Some(Duration::from_secs(60)),
            poll_interval: None,
            input_responses: BTreeMap::new(),
            variables: Default::default(),
            client_elicits: None,
        },
        Utc::now(),
    )
}

#[test]
fn tool_error_fails_on_2025_and_completes_on_2026() {
    let result =
        TaskOutcome::result(json!({"content":[{"type":"text","text":"boom"}],"isError":true}));
    let mut old = task(Era::V2025_11_25);
    old.finish(result.clone(), Utc::now()).unwrap();
    assert_eq!(old.status, TaskStatus::Failed);
    assert_eq!(old.status_message(), Some("boom"));
    let long = "é".repeat(STATUS_MESSAGE_MAX_CHARS + 5);
    let cut = status_text(long);
    assert_eq!(cut.chars().count(), STATUS_MESSAGE_MAX_CHARS + 1);
    assert!(cut.ends_with('…'));
    assert_eq!(status_text("short".into()), "short");
    let mut new = task(Era::V2026_07_28);
    new.finish(result, Utc::now()).unwrap();
    assert_eq!(new.status, TaskStatus::Completed);
}

#[test]
fn terminal_task_refuses_every_change() {
    let mut t = task(Era::V2025_11_25);
    t.cancel(Utc::now()).unwrap();
    let before = t.clone();
    assert_eq!(
        t.cancel(Utc::now()),
        Err(DomainError::Terminal(TaskStatus::Cancelled))
    );
    assert!(t.fail("x", Utc::now()).is_err());
    assert!(t.set_message("x", Utc::now()).is_err());
    assert!(t
        .set_variable("a", Some(json!(1)), 1000, Utc::now())
        .is_err());
    assert!(t.request_input("k", json!({}), Utc::now()).is_err());
    assert_eq!(t, before);
}

#[test]
fn variable_limit_leaves_variables_untouched() {
    let mut t = task(Era::V2025_11_25);
    t.set_variable("a", Some(json!("x")), 20, Utc::now())
        .unwrap();
    let err = t
        .set_variable("b", Some(json!("a long value here")), 20, Utc::now())
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::VariablesTooLarge { limit: 20, .. }
    ));
    assert_eq!(t.variables().len(), 1);
    t.set_variable("a", None, 20, Utc::now()).unwrap();
    assert!(t.variables().is_empty());
}

#[test]
fn partial_answers_keep_the_task_waiting() {
    let mut t = task(Era::V2026_07_28);
    t.request_input("a", json!({"method":"elicitation/create"}), Utc::now())
        .unwrap();
    t.request_input("b", json!({"method":"elicitation/create"}), Utc::now())
        .unwrap();
    let mut answers = Map::new();
    answers.insert("a".into(), json!({"action":"accept"}));
    answers.insert("never-asked".into(), json!({}));
    assert_eq!(
        t.answer_input(&answers, Utc::now()).unwrap(),
        vec!["a".to_string()]
    );
    assert_eq!(t.status, TaskStatus::InputRequired);
    assert!(!t.input_requests().contains_key("a"));
    let mut rest = Map::new();
    rest.insert("b".into(), json!({"action":"decline"}));
    t.answer_input(&rest, Utc::now()).unwrap();
    assert_eq!(t.status, TaskStatus::Working);
    assert_eq!(
        t.request_input("a", json!({}), Utc::now()),
        Err(DomainError::InputKeyReused("a".into()))
    );
}

#[test]
fn record_round_trips_through_json() {
    let mut t = task(Era::V2026_07_28);
    t.finish(TaskOutcome::result(json!({"content":[]})), Utc::now())
        .unwrap();
    let back: TaskRecord = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
    assert_eq!(back, t);
}

#[test]
fn a_plain_task_keeps_no_extras_and_an_ended_one_lets_them_go() {
    let now = Utc::now();
    let mut t = task(Era::V2026_07_28);
    assert!(t.extras.is_none() && t.outcome.is_none());
    t.hold_lease("me", now).unwrap();
    assert!(t.extras.is_some());
    t.finish(TaskOutcome::result(json!({"content": []})), now)
        .unwrap();
    assert!(t.extras.is_none(), "lease gone, no message: nothing left");
    let mut failed = task(Era::V2026_07_28);
    failed.fail("boom", now).unwrap();
    assert_eq!(failed.status_message(), Some("boom"));
}

#[test]
fn a_changed_copy_shares_what_did_not_change() {
    let now = Utc::now();
    let mut t = task(Era::V2026_07_28);
    t.set_variable("a", Some(json!(1)), 1000, now).unwrap();
    let before = t.clone();
    assert!(Arc::ptr_eq(
        before.extras.as_ref().unwrap(),
        t.extras.as_ref().unwrap()
    ));
    t.set_message("half way", now).unwrap();
    assert_eq!(before.status_message(), None, "the original is untouched");
    assert_eq!(t.status_message(), Some("half way"));
    assert_eq!(t.variables(), before.variables());
    t.finish(TaskOutcome::result(json!({"content": []})), now)
        .unwrap();
    let copy = t.clone();
    assert!(Arc::ptr_eq(
        copy.extras.as_ref().unwrap(),
        t.extras.as_ref().unwrap()
    ));
    // The outcome is boxed: copied, equal.
    assert_eq!(copy.outcome(), t.outcome());
}

#[test]
fn spans_are_kept_in_whole_milliseconds_rounded_up() {
    let mut t = task(Era::V2026_07_28);
    let ms = Duration::from_millis;
    for (set, read) in [
        (None, None),
        (Some(Duration::ZERO), Some(ms(0))),
        (Some(ms(60_000)), Some(ms(60_000))),
        (Some(Duration::from_micros(1_500)), Some(ms(2))),
        (Some(Duration::from_nanos(1)), Some(ms(1))),
        (Some(Duration::MAX), Some(ms(u64::MAX - 1))),
    ] {
        t.set_ttl(set);
        t.set_poll_interval(set);
        assert_eq!((t.ttl(), t.poll_interval()), (read, read), "{set:?}");
        let debug = format!("{t:?}");
        assert!(debug.contains(&format!("ttl: {read:?}")), "{debug}");
    }
}

#[test]
fn extras_that_were_emptied_equal_none() {
    let now = Utc::now();
    let plain = task(Era::V2026_07_28);
    let mut emptied = plain.clone();
    emptied
        .set_variable("a", Some(json!(1)), 1000, now)
        .unwrap();
    emptied.set_variable("a", None, 1000, now).unwrap();
    emptied.updated_at = plain.updated_at;
    assert!(emptied.extras.is_none());
    // Equality reads through the accessors, so even extras kept empty
    // would compare equal.
    emptied.extras = Some(Arc::default());
    assert_eq!(emptied, plain);
}

/// The stored format: what every durable store holds, so it must not drift.
#[test]
fn the_json_of_a_record_keeps_its_field_order_and_names() {
    let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut t = task(Era::V2025_11_25);
    t.id = "t-1".into();
    t.created_at = at;
    t.updated_at = at;
    t.set_poll_interval(Some(Duration::from_millis(500)));
    t.client_elicits = Some(true);
    t.set_retention(Some(Duration::from_secs(5)));
    t.set_variable("v", Some(json!(1)), 1000, at).unwrap();
    t.checkpoint("s", json!(2), at).unwrap();
    t.report(
        Some(ProgressMark {
            progress: 1.0,
            total: Some(2.0),
        }),
        Some("half".into()),
        at,
    )
    .unwrap();
    t.hold_lease("me", at).unwrap();
    t.request_input("k", json!({"q": 1}), at).unwrap();
    t.version = 3;
    let expected = concat!(
        r#"{"id":"t-1","owner":"alice","era":"2025-11-25","tool":"t","arguments":{},"#,
        r#""status":"input_required","status_message":"half","progress":{"progress":1.0,"total":2.0},"#,
        r#""created_at":"2026-11-29T10:00:00Z","updated_at":"2026-11-29T10:00:00Z","ttl":60000,"#,
        r#""retention":5000,"poll_interval":500,"variables":{"v":1},"input_requests":{"k":{"q":1}},"#,
        r#""input_responses":{},"checkpoints":{"s":2},"client_elicits":true,"#,
        r#""lease":{"holder":"me","until":"2026-11-29T10:00:00Z"},"version":3}"#
    );
    assert_eq!(serde_json::to_string(&t).unwrap(), expected);
    let back: TaskRecord = serde_json::from_str(expected).unwrap();
    assert_eq!(back, t);
}

#[test]
fn outcomes_read_back_from_text_and_from_values() {
    let now = Utc::now();
    let mut done = task(Era::V2026_07_28);
    done.finish(
        TaskOutcome::result(json!({"content": [{"type": "text", "text": "ok"}]})),
        now,
    )
    .unwrap();
    let mut failed = task(Era::V2026_07_28);
    failed
        .finish(TaskOutcome::error(RpcError::internal("boom")), now)
        .unwrap();
    for t in [done, failed] {
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<TaskRecord>(&text).unwrap(), t);
        let tree = serde_json::to_value(&t).unwrap();
        assert_eq!(serde_json::from_value::<TaskRecord>(tree).unwrap(), t);
    }
    assert_eq!(
        serde_json::to_string(&TaskOutcome::result(json!({"a": 1}))).unwrap(),
        r#"{"kind":"result","value":{"a":1}}"#
    );
    let wrong = r#"{"kind": "result", "error": {"code": 1, "message": "x"}}"#;
    let err = serde_json::from_str::<TaskOutcome>(wrong).unwrap_err();
    assert!(err.to_string().contains("missing field `value`"), "{err}");
}

#[test]
fn the_json_of_an_ended_and_of_a_suspended_record_keeps_its_form() {
    let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut done = task(Era::V2026_07_28);
    done.id = "t-2".into();
    done.created_at = at;
    done.finish(TaskOutcome::result(json!({"a": 1})), at)
        .unwrap();
    assert_eq!(
        serde_json::to_string(&done).unwrap(),
        concat!(
            r#"{"id":"t-2","owner":"alice","era":"2026-07-28","tool":"t","arguments":{},"#,
            r#""status":"completed","created_at":"2026-11-29T10:00:00Z","#,
            r#""updated_at":"2026-11-29T10:00:00Z","ttl":60000,"poll_interval":null,"#,
            r#""variables":{},"outcome":{"kind":"result","value":{"a":1}},"#,
            r#""input_requests":{},"input_responses":{},"checkpoints":{},"version":0}"#
        )
    );
    let mut waiting = task(Era::V2026_07_28);
    waiting.id = "t-3".into();
    waiting.created_at = at;
    waiting.hold_lease("me", at).unwrap();
    waiting.request_input("k", json!(1), at).unwrap();
    waiting.suspend("me", "k", at).unwrap();
    assert_eq!(
        serde_json::to_string(&waiting).unwrap(),
        concat!(
            r#"{"id":"t-3","owner":"alice","era":"2026-07-28","tool":"t","arguments":{},"#,
            r#""status":"input_required","created_at":"2026-11-29T10:00:00Z","#,
            r#""updated_at":"2026-11-29T10:00:00Z","ttl":60000,"poll_interval":null,"#,
            r#""variables":{},"input_requests":{"k":1},"input_responses":{},"#,
            r#""checkpoints":{},"suspended":true,"version":0}"#
        )
    );
}

#[test]
fn a_null_result_and_a_stray_part_read_back() {
    let mut t = task(Era::V2026_07_28);
    t.finish(TaskOutcome::result(Value::Null), Utc::now())
        .unwrap();
    let text = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<TaskRecord>(&text).unwrap(), t);
    // A raw value keeps its text as written: stores write it compact.
    let stray = r#"{"kind": "result", "value": {"a":1}, "error": "not an error object"}"#;
    assert_eq!(
        serde_json::from_str::<TaskOutcome>(stray).unwrap(),
        TaskOutcome::result(json!({"a": 1}))
    );
    let bad = r#"{"kind": "error", "error": "not an error object"}"#;
    let err = serde_json::from_str::<TaskOutcome>(bad).unwrap_err();
    assert!(
        err.to_string().contains("a task's error does not read"),
        "{err}"
    );
}

#[test]
fn only_an_object_flagged_is_error_fails_a_2025_task() {
    let now = Utc::now();
    for (result, failed) in [
        (json!([true]), false),
        (json!({"isError": "yes"}), false),
        (json!({"content": [], "isError": true}), true),
    ] {
        let mut t = task(Era::V2025_11_25);
        t.finish(TaskOutcome::result(result.clone()), now).unwrap();
        assert_eq!(t.status == TaskStatus::Failed, failed, "{result}");
    }
}

#[test]
fn a_result_nested_too_deep_to_read_back_is_reported() {
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let outcome = TaskOutcome::result(deep);
    let err = outcome.into_result().unwrap_err();
    assert!(
        err.message.contains("cannot be read back"),
        "{}",
        err.message
    );
}
