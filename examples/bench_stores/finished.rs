//! Memory per task once every task has ended with a small result.

use crate::alloc::counting_allocations;
use crate::stores::{Kind, Store};
use crate::Options;
use pmcp_tasks_examples::bench::thousands;

/// Tasks per owner while filling, as in the scaling section's fill with
/// 1 000 owners.
const PER_OWNER: usize = 1_000;

pub(crate) async fn finished_section(opts: &Options) {
    println!("\n## Memory per finished task (bytes the fill allocated, net, ÷ tasks)\n");
    println!(
        "Each task created and completed with the lifecycle's result (one text content, \
         `done`), {} tasks per owner, filled one task at a time. Ours at the largest \
         `--levels` size, pmcp 2.23 and 0.2.0 at a tenth of it (their fills take much \
         longer).\n",
        thousands(PER_OWNER as f64)
    );
    println!("| store | finished tasks | bytes per task |");
    println!("| --- | --- | --- |");
    let largest = opts.levels.iter().copied().max().unwrap_or(1_000);
    for &kind in &opts.kinds {
        let live = if kind == Kind::Ours {
            largest
        } else {
            largest / 10
        };
        let (store, bytes) = counting_allocations(async {
            let store = Store::new(kind);
            for i in 0..live {
                store
                    .fill_finished(&format!("owner-{}", i / PER_OWNER))
                    .await;
            }
            store
        })
        .await;
        println!(
            "| {} | {} | {} |",
            kind.name(),
            thousands(live as f64),
            thousands(bytes as f64 / live.max(1) as f64)
        );
        drop(store);
    }
}
