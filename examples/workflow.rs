//! A workflow prompt that runs as one durable task.
//!
//! `prompts/get trip {city}` creates a task, locates the city and checks the
//! weather on the server, then hands off: booking needs a nightly budget,
//! which only the client (its user) knows. The client continues by calling
//! `book_hotel` with the task id in `_meta["io.modelcontextprotocol/related-task"]`;
//! the server records the booking, writes the itinerary, and completes the
//! task. With a shared store the continuation may reach another instance.
//!
//! ```text
//! cargo run --example workflow -- --http 127.0.0.1:8080 --store sqlite:trips.db
//! ```

use pmcp::server::workflow::ToolHandle;
use pmcp_tasks::workflow::{DataSource, SequentialWorkflow, WorkflowStep};
use pmcp_tasks::{
    shutdown_signal, task_tool, task_workflow, AnonymousPolicy, TaskServer, ToolError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct City {
    /// The city's name.
    city: String,
}

#[derive(Serialize, JsonSchema)]
struct Place {
    city: String,
    country: String,
    /// Which process answered (the end-to-end test shows steps moving
    /// between instances with it).
    pid: u32,
}

/// Finds the country of a city.
#[task_tool]
async fn locate(args: City) -> Result<Place, ToolError> {
    let country = match args.city.as_str() {
        "Oslo" | "Bergen" => "Norway",
        "Lyon" | "Paris" => "France",
        other => return Err(ToolError::new(format!("unknown city '{other}'"))),
    };
    Ok(Place {
        country: country.into(),
        city: args.city,
        pid: std::process::id(),
    })
}

#[derive(Serialize, JsonSchema)]
struct Forecast {
    summary: String,
}

/// Tomorrow's weather in a city.
#[task_tool]
async fn weather(args: City) -> Result<Forecast, ToolError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(Forecast {
        summary: format!("mild and dry in {}", args.city),
    })
}

#[derive(Deserialize, JsonSchema)]
struct Booking {
    city: String,
    /// The most to pay per night.
    budget: u32,
}

#[derive(Serialize, JsonSchema)]
struct Booked {
    hotel: String,
    price: u32,
    pid: u32,
}

/// Books a hotel within a nightly budget.
#[task_tool]
async fn book_hotel(args: Booking) -> Result<Booked, ToolError> {
    if args.budget < 50 {
        return Err(ToolError::new(format!(
            "no hotel in {} under {} a night",
            args.city, args.budget
        )));
    }
    Ok(Booked {
        hotel: format!("Hotel {}", args.city),
        price: args.budget.min(180),
        pid: std::process::id(),
    })
}

#[derive(Deserialize, JsonSchema)]
struct Plan {
    hotel: String,
    weather: String,
}

#[derive(Serialize, JsonSchema)]
struct Itinerary {
    text: String,
    pid: u32,
}

/// Writes the itinerary.
#[task_tool]
async fn itinerary(args: Plan) -> Result<Itinerary, ToolError> {
    Ok(Itinerary {
        text: format!("Stay at {}; expect {}.", args.hotel, args.weather),
        pid: std::process::id(),
    })
}

/// Plan a trip: the server locates the city and checks the weather, the
/// client books within the traveller's budget, the server writes the plan.
#[task_workflow]
fn trip() -> SequentialWorkflow {
    SequentialWorkflow::new("trip", "Plan a trip to a city")
        .argument("city", "the city to visit", true)
        .step(
            WorkflowStep::new("locate", ToolHandle::new("locate"))
                .arg("city", DataSource::prompt_arg("city"))
                .bind("place"),
        )
        .step(
            WorkflowStep::new("weather", ToolHandle::new("weather"))
                .arg("city", DataSource::from_step_field("place", "city"))
                .bind("forecast"),
        )
        .step(
            WorkflowStep::new("book", ToolHandle::new("book_hotel"))
                .arg("city", DataSource::from_step_field("place", "city"))
                .with_guidance("Ask the traveller for their nightly budget, then book")
                .bind("booking"),
        )
        .step(
            WorkflowStep::new("plan", ToolHandle::new("itinerary"))
                .arg("hotel", DataSource::from_step_field("booking", "hotel"))
                .arg(
                    "weather",
                    DataSource::from_step_field("forecast", "summary"),
                ),
        )
}

const USAGE: &str = "usage: workflow [--http ADDR] [--store URL] [--shared-owner NAME]
  --http ADDR   serve streamable HTTP at http://ADDR/mcp (default: stdio)
  --store URL   where tasks are kept (memory, sqlite:PATH, redis://HOST:PORT,
                dynamodb://TABLE[?endpoint=URL]); or set PMCP_TASKS_STORE
  --shared-owner NAME
                every anonymous caller owns tasks as 'anon:NAME', across sessions
                and instances: only for one trusted user";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let mut http = None;
    let mut anonymous = AnonymousPolicy::PerConnection;
    let mut store_url = std::env::var("PMCP_TASKS_STORE").unwrap_or_else(|_| "memory".into());
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--http", Some(addr)) => http = Some(addr),
            ("--store", Some(url)) => store_url = url,
            ("--shared-owner", Some(name)) if !name.is_empty() => {
                anonymous = AnonymousPolicy::Shared(name)
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let (store, store_name) = match pmcp_tasks::store::url::open(&store_url).await {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("workflow: {e}");
            std::process::exit(2);
        }
    };
    eprintln!("pmcp-tasks workflow example: tasks are kept in {store_name}");
    let server = TaskServer::builder("pmcp-tasks-workflow", env!("CARGO_PKG_VERSION"))
        .anonymous(anonymous)
        .store(store)
        .registered_tools()
        .registered_workflows()
        .build()?;
    match http {
        None => {
            eprintln!("pmcp-tasks workflow example: serving MCP over stdio; try prompts/get trip");
            tokio::select! {
                r = server.serve_stdio() => r?,
                _ = shutdown_signal() => {}
            }
        }
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let local = listener.local_addr()?;
            eprintln!(
                "pmcp-tasks workflow example: serving MCP over streamable HTTP at http://{local}/mcp"
            );
            server.serve_http(listener, shutdown_signal()).await?;
        }
    }
    server.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
