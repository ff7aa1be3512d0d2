//! The saga runner on every configured backend: runs to the end, undoes what it did when a step
//! fails, retries a briefly missing dependency, and after a "crash" (the run's future dropped
//! mid-step) finishes or compensates on resume — each effect exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use nave_hub_core::saga::{Saga, SagaContext, SagaOutcome, SagaRunner, SagaStatus};
use nave_hub_core::testing::{TestDb, backends};
use nave_hub_core::{AuthContext, Db, Error, HubMigrations, ManualClock, Result};
use serde::{Deserialize, Serialize};

static EMPTY_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/sqlite");
static EMPTY_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/postgres");

const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &EMPTY_SQLITE,
    postgres: &EMPTY_POSTGRES,
};

/// Outside effects, keyed by (run, step) as a real step keys them on the run id: held fees,
/// created installations... `true` while in effect.
type Effects = Arc<Mutex<BTreeMap<(String, usize), bool>>>;

/// What a step does in a test.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Succeed,
    /// Refused for good (e.g. the spoke's `install()` said no).
    Refuse,
    /// Unavailable this many times, then fine.
    Flaky(u32),
    /// Never returns: the process dies here.
    Hang,
}

struct Subscribe {
    effects: Effects,
    behaviour: Vec<Behaviour>,
    compensation_hangs_at: Option<usize>,
    flaky_left: Mutex<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct State {
    done: Vec<String>,
}

impl Subscribe {
    fn new(effects: &Effects, behaviour: Vec<Behaviour>) -> Self {
        let flaky = behaviour
            .iter()
            .map(|b| if let Behaviour::Flaky(n) = b { *n } else { 0 })
            .sum();
        Self {
            effects: effects.clone(),
            behaviour,
            compensation_hangs_at: None,
            flaky_left: Mutex::new(flaky),
        }
    }
}

const STEPS: &[&str] = &[
    "hold_fee",
    "create_installation",
    "run_install",
    "capture_fee",
];

#[async_trait]
impl Saga for Subscribe {
    type State = State;

    fn kind(&self) -> &'static str {
        "test.subscribe"
    }

    fn steps(&self) -> &'static [&'static str] {
        STEPS
    }

    async fn run(&self, step: usize, state: &mut State, run: &SagaContext) -> Result<()> {
        match self.behaviour[step] {
            Behaviour::Hang => std::future::pending().await,
            Behaviour::Refuse => Err(Error::failed_precondition("install_refused", "no")),
            Behaviour::Flaky(_) => {
                let mut left = self.flaky_left.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    return Err(Error::Unavailable("wallet hub restarting".into()));
                }
                drop(left);
                self.effect(run, step, state)
            }
            Behaviour::Succeed => self.effect(run, step, state),
        }
    }

    async fn compensate(&self, step: usize, state: &mut State, run: &SagaContext) -> Result<()> {
        if self.compensation_hangs_at == Some(step) {
            std::future::pending::<()>().await;
        }
        // Undoing something that never happened is fine.
        if let Some(on) = self
            .effects
            .lock()
            .unwrap()
            .get_mut(&(run.id.to_string(), step))
        {
            *on = false;
        }
        state.done.push(format!("undo {}", STEPS[step]));
        Ok(())
    }
}

impl Subscribe {
    fn effect(&self, run: &SagaContext, step: usize, state: &mut State) -> Result<()> {
        // Idempotent: a second run of the step after a crash finds its effect in place.
        self.effects
            .lock()
            .unwrap()
            .insert((run.id.to_string(), step), true);
        state.done.push(STEPS[step].to_owned());
        Ok(())
    }
}

fn in_effect(effects: &Effects) -> Vec<usize> {
    effects
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, on)| **on)
        .map(|((_, step), _)| *step)
        .collect()
}

async fn runner(test_db: &TestDb) -> SagaRunner {
    let db = Db::connect(&test_db.config, MIGRATIONS).await.unwrap();
    SagaRunner::new(db, Arc::new(ManualClock::starting_now()))
}

#[tokio::test]
async fn a_saga_runs_to_the_end_or_undoes_everything_it_did() {
    use Behaviour::*;
    for backend in backends() {
        let test_db = TestDb::new(backend).await;
        let runner = runner(&test_db).await;
        let ctx = AuthContext::system();

        let effects = Effects::default();
        let saga = Subscribe::new(&effects, vec![Succeed, Flaky(2), Succeed, Succeed]);
        let (id, outcome) = runner
            .start(&saga, &ctx, None, State::default())
            .await
            .unwrap();
        let SagaOutcome::Completed(state) = outcome else {
            panic!("{backend:?}: expected completion");
        };
        assert_eq!(state.done, STEPS, "a briefly missing dependency is retried");
        assert_eq!(in_effect(&effects), [0, 1, 2, 3]);
        let record = runner.get(id).await.unwrap().unwrap();
        assert_eq!(
            (record.status, record.next_step),
            (SagaStatus::Completed, 4)
        );

        // The spoke refuses to install: the installation and the hold are undone, newest first.
        let effects = Effects::default();
        let saga = Subscribe::new(&effects, vec![Succeed, Succeed, Refuse, Succeed]);
        let (id, outcome) = runner
            .start(&saga, &ctx, None, State::default())
            .await
            .unwrap();
        let SagaOutcome::Compensated {
            state,
            failed_step,
            error,
        } = outcome
        else {
            panic!("{backend:?}: expected compensation");
        };
        assert_eq!((failed_step, error.code()), (2, "failed_precondition"));
        assert_eq!(
            state.done,
            [
                "hold_fee",
                "create_installation",
                "undo run_install",
                "undo create_installation",
                "undo hold_fee"
            ]
        );
        assert!(
            in_effect(&effects).is_empty(),
            "{backend:?}: nothing stays done"
        );
        let record = runner.get(id).await.unwrap().unwrap();
        assert_eq!(record.status, SagaStatus::Compensated);
        assert_eq!(record.failed_step, Some(2));
        assert!(record.error.unwrap().contains("install_refused"));
    }
}

#[tokio::test]
async fn a_run_killed_mid_saga_finishes_or_compensates_after_restart() {
    use Behaviour::*;
    for backend in backends() {
        let test_db = TestDb::new(backend).await;
        let ctx = AuthContext::system();
        for killed_at in 0..STEPS.len() {
            // The first process dies while step `killed_at` runs.
            let effects = Effects::default();
            let mut behaviour = vec![Succeed; STEPS.len()];
            behaviour[killed_at] = Hang;
            let dying = Subscribe::new(&effects, behaviour);
            let first = runner(&test_db).await;
            let started = tokio::time::timeout(
                Duration::from_millis(200),
                first.start(&dying, &ctx, None, State::default()),
            )
            .await;
            assert!(started.is_err(), "the run was cut off");
            assert_eq!(in_effect(&effects).len(), killed_at);

            // After the restart the run goes on and completes, each effect once.
            let second = runner(&test_db).await;
            let healthy = Subscribe::new(&effects, vec![Succeed; STEPS.len()]);
            let resumed = second.resume(&healthy).await.unwrap();
            assert_eq!(resumed.len(), 1, "{backend:?} killed at {killed_at}");
            let SagaOutcome::Completed(state) = &resumed[0].1 else {
                panic!("{backend:?}: expected completion after resume");
            };
            assert_eq!(state.done, STEPS);
            assert_eq!(in_effect(&effects), [0, 1, 2, 3]);
            assert!(
                second.resume(&healthy).await.unwrap().is_empty(),
                "nothing left"
            );
        }

        // Killed while compensating: the compensation finishes after the restart.
        let effects = Effects::default();
        let mut dying = Subscribe::new(&effects, vec![Succeed, Succeed, Refuse, Succeed]);
        dying.compensation_hangs_at = Some(0);
        let first = runner(&test_db).await;
        let cut = tokio::time::timeout(
            Duration::from_millis(200),
            first.start(&dying, &ctx, None, State::default()),
        )
        .await;
        assert!(cut.is_err());
        assert_eq!(in_effect(&effects), [0], "only the hold is left");
        let second = runner(&test_db).await;
        let healthy = Subscribe::new(&effects, vec![Succeed; STEPS.len()]);
        let resumed = second.resume(&healthy).await.unwrap();
        assert!(matches!(
            resumed[0].1,
            SagaOutcome::Compensated { failed_step: 2, .. }
        ));
        assert!(in_effect(&effects).is_empty(), "{backend:?}");
    }
}
