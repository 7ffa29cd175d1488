//! Suspension without a live worker, on the in-memory store shared by two
//! instances (the durable stores run the same scenario in their own test
//! files).

mod common;

use pmcp_tasks::store::MemoryStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_task_resumes_on_another_instance() {
    let store = Arc::new(MemoryStore::new());
    common::suspension::a_waiting_body_suspends_and_resumes_on_another_instance(
        store.clone(),
        store,
    )
    .await;
}
