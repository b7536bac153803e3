//! `max-cost` (issue 26): a budget per run in USD, turned into the run's deadline from the GPU's
//! price, its device count, the matrix and the shards, so that the worst case (every sandbox on
//! its dearest GPU until the deadline) never costs more. The runner does the same sum at start,
//! for a GPU or shard count given then (`MODAL_GPU`, a dispatch input); this one is what
//! `config` and `init` show for the configured ones.

use super::gpu::GpuMatrix;

/// The shortest deadline a budget may leave: less is too short to install the project and run
/// a test, and would only bill a sandbox that is stopped before it tests anything. The runner
/// refuses the same (`MIN_BUDGET_SECONDS`).
pub const MIN_BUDGET_SECONDS: u32 = 120;

/// What bounds a run's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `timeout` (or its default): no budget, or one that allows longer.
    Timeout,
    /// `max-cost`: the budget allows less than `timeout`.
    MaxCost,
}

/// A run's deadline, and what set it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadline {
    pub seconds: u32,
    pub bound: Bound,
    /// The seconds the budget allows, when there is one.
    pub budget_seconds: Option<u32>,
}

/// The seconds `max_cost` buys for the whole run: its worst case per second, every sandbox
/// of the matrix and every shard included, rounded down.
pub fn budget_seconds(max_cost: f64, gpu: &GpuMatrix, shards: u32) -> u32 {
    let rate = gpu.worst_price_per_second(shards);
    if rate <= 0.0 {
        return u32::MAX;
    }
    let seconds = (max_cost / rate).floor();
    if seconds >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In range and whole: checked just above.
        seconds as u32
    }
}

/// The deadline of a run: the lower of `timeout` and what `max_cost` buys. A budget that buys
/// less than [`MIN_BUDGET_SECONDS`] is an error, which says what would do.
pub fn deadline(
    timeout: u32,
    max_cost: Option<f64>,
    gpu: &GpuMatrix,
    shards: u32,
) -> Result<Deadline, String> {
    let Some(max_cost) = max_cost else {
        return Ok(Deadline {
            seconds: timeout,
            bound: Bound::Timeout,
            budget_seconds: None,
        });
    };
    let budget = budget_seconds(max_cost, gpu, shards);
    if budget < MIN_BUDGET_SECONDS {
        let rate = gpu.worst_price_per_second(shards);
        return Err(format!(
            "max-cost {} buys {budget} s of {} (at most {} a second); a run needs at least {MIN_BUDGET_SECONDS} s: \
             raise max-cost to at least {}, or use fewer shards or a cheaper GPU",
            dollars(max_cost),
            runs_text(gpu, shards),
            dollars_fine(rate),
            dollars((rate * f64::from(MIN_BUDGET_SECONDS) * 100.0).ceil() / 100.0),
        ));
    }
    Ok(if budget < timeout {
        Deadline {
            seconds: budget,
            bound: Bound::MaxCost,
            budget_seconds: Some(budget),
        }
    } else {
        Deadline {
            seconds: timeout,
            bound: Bound::Timeout,
            budget_seconds: Some(budget),
        }
    })
}

/// What the run is, for messages: `H100`, `H100 × 4 shards`, `2 GPUs × 4 shards`.
fn runs_text(gpu: &GpuMatrix, shards: u32) -> String {
    let what = if gpu.is_matrix() {
        format!("{} GPUs", gpu.0.len())
    } else {
        gpu.to_string()
    };
    if shards > 1 {
        format!("{what} × {shards} shards")
    } else {
        what
    }
}

/// `$2.00`.
pub fn dollars(amount: f64) -> String {
    format!("${amount:.2}")
}

/// `$0.004388`: a price per second.
fn dollars_fine(amount: f64) -> String {
    format!("${amount:.6}")
}

/// A duration as the summary says it: `23 min`, or seconds under two minutes.
pub fn duration_text(seconds: u32) -> String {
    if seconds >= 120 {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// The line `config` and `init` show when a budget is set: which bound applies.
pub fn describe(deadline: &Deadline, max_cost: f64, timeout: u32) -> String {
    match deadline.bound {
        Bound::MaxCost => format!(
            "deadline {} (max-cost {}): the budget allows less than timeout's {}",
            duration_text(deadline.seconds),
            dollars(max_cost),
            duration_text(timeout)
        ),
        Bound::Timeout => format!(
            "deadline {} (timeout): max-cost {} would allow {}",
            duration_text(deadline.seconds),
            dollars(max_cost),
            duration_text(deadline.budget_seconds.unwrap_or(u32::MAX))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(text: &str) -> GpuMatrix {
        text.parse().unwrap()
    }

    #[test]
    fn one_gpu_gets_what_its_price_buys() {
        // H100: $0.001097 a second; $2 buys 1823 s.
        let d = deadline(3600, Some(2.0), &matrix("H100"), 1).unwrap();
        assert_eq!((d.seconds, d.bound), (1823, Bound::MaxCost));
        assert_eq!(
            describe(&d, 2.0, 3600),
            "deadline 30 min (max-cost $2.00): the budget allows less than timeout's 60 min"
        );
    }

    #[test]
    fn devices_shards_and_the_matrix_each_multiply_the_worst_case() {
        let one = budget_seconds(10.0, &matrix("H100"), 1);
        assert_eq!(budget_seconds(10.0, &matrix("H100:2"), 1), one / 2);
        assert_eq!(budget_seconds(10.0, &matrix("H100"), 4), one / 4);
        // A fallback list is priced at its dearest GPU, whichever comes first, of the two a
        // sandbox may get (the first try and the one retry).
        assert_eq!(budget_seconds(10.0, &matrix("T4, H100"), 1), one);
        assert_eq!(budget_seconds(10.0, &matrix("H100, T4"), 1), one);
        assert_eq!(
            budget_seconds(10.0, &matrix("T4, L4, H100"), 1),
            (10.0 / 0.000222) as u32
        );
        // A matrix pays for each entry: T4 and H100 at once.
        let both = budget_seconds(10.0, &matrix("T4; H100"), 2);
        assert_eq!(both, (10.0 / ((0.000164 + 0.001097) * 2.0)) as u32);
        // The worst case never passes the budget.
        for (gpu, shards) in [("T4; H100:2, A100-80GB", 3), ("B200:8", 32), ("L4", 1)] {
            let gpu = matrix(gpu);
            let seconds = budget_seconds(5.0, &gpu, shards);
            assert!(f64::from(seconds) * gpu.worst_price_per_second(shards) <= 5.0);
            assert!(f64::from(seconds + 1) * gpu.worst_price_per_second(shards) > 5.0);
        }
    }

    #[test]
    fn the_lower_bound_wins_and_says_so() {
        let d = deadline(600, Some(2.0), &matrix("T4"), 1).unwrap();
        assert_eq!((d.seconds, d.bound), (600, Bound::Timeout));
        assert_eq!(
            describe(&d, 2.0, 600),
            "deadline 10 min (timeout): max-cost $2.00 would allow 203 min"
        );
        let none = deadline(600, None, &matrix("B200:8"), 32).unwrap();
        assert_eq!((none.seconds, none.bound), (600, Bound::Timeout));
    }

    #[test]
    fn a_budget_too_small_to_test_anything_is_refused_with_what_would_do() {
        let err = deadline(3600, Some(0.05), &matrix("H100"), 4).unwrap_err();
        assert!(
            err.contains("max-cost $0.05 buys 11 s of H100 × 4 shards")
                && err.contains("at least $0.53"),
            "{err}"
        );
        // What the message asks for is enough.
        assert!(deadline(3600, Some(0.53), &matrix("H100"), 4).is_ok());
    }
}
