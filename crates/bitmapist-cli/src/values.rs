//! Value parsers for arguments that name one of the engine's types: time groups, the period
//! `count` and `ids` read, the retention criterion, the average.
//!
//! Why: the engine already parses these names (`FromStr` on [`TimeGroup`], [`Criterion`],
//! [`Average`]); an enum per command mirroring them would drift from the engine and from
//! each other. Each concept has one parser here, and a command that accepts only some
//! values (a funnel has no hours) passes the ones it accepts.
//!
//! How: clap's `PossibleValuesParser` lists the accepted spellings (for `--help`, error
//! messages and completions), and the engine's `FromStr` turns an accepted spelling into
//! the value.
//!
//! Invariants: a value is accepted exactly when it is one of the listed spellings,
//! case-sensitively (as clap's `ValueEnum` would); anything else is a usage error (exit 2)
//! that lists them.

use bitmapist::{Average, Criterion, TimeGroup};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

/// The most rows and columns of a cohort table or funnel: the engine's cap, which is the
/// dashboard's (larger tables take gigabytes of memory and output).
pub const MAX_COHORT_SIDE: i64 = bitmapist::MAX_COHORT_SIZE as i64;

/// What `--help` says of a time group.
fn group_help(group: TimeGroup) -> &'static str {
    match group {
        TimeGroup::Hours => "Hours (needs hour keys)",
        TimeGroup::Days => "Days",
        TimeGroup::Weeks => "ISO weeks (Monday to Sunday)",
        TimeGroup::Months => "Calendar months (28 to 31 days)",
        TimeGroup::Years => "Calendar years (their twelve months)",
    }
}

/// `--time-group`: one of `groups`, by its plural name (`days`, Python bitmapist's
/// `time_group`). Use with `default_value_t = TimeGroup::Days` (its `Display` is that name).
pub fn time_group(groups: &[TimeGroup]) -> impl TypedValueParser<Value = TimeGroup> {
    let names = groups
        .iter()
        .map(|&g| PossibleValue::new(g.as_str()).help(group_help(g)));
    PossibleValuesParser::new(names).try_map(|s| s.parse::<TimeGroup>())
}

/// The key `count` and `ids` read: the period of a time group that contains `--at`, or
/// the date-less unique key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodKind {
    /// The hour, day, week, month or year containing `--at`.
    Dated(TimeGroup),
    /// The date-less unique key.
    Unique,
}

/// What `--help` says of the period of a time group.
fn period_help(group: TimeGroup) -> &'static str {
    match group {
        TimeGroup::Hours => "The hour containing --at (needs hour keys)",
        TimeGroup::Days => "The day",
        TimeGroup::Weeks => "The ISO week (Monday to Sunday)",
        TimeGroup::Months => "The month",
        TimeGroup::Years => "The year (its twelve months)",
    }
}

/// `--period`: a time group by its singular name (`day`, the period itself), or `unique`.
/// Use with `default_value = "day"`.
pub fn period_kind() -> impl TypedValueParser<Value = PeriodKind> {
    let names = TimeGroup::ALL
        .into_iter()
        .map(|g| PossibleValue::new(g.unit()).help(period_help(g)))
        .chain([PossibleValue::new("unique").help("The date-less unique key")]);
    PossibleValuesParser::new(names).try_map(|s| match s.as_str() {
        "unique" => Ok(PeriodKind::Unique),
        group => group.parse::<TimeGroup>().map(PeriodKind::Dated),
    })
}

/// `--retention`: when a returning user counts in a cohort cell.
pub fn criterion() -> impl TypedValueParser<Value = Criterion> {
    let names = Criterion::ALL.into_iter().map(|c| {
        PossibleValue::new(c.as_str()).help(match c {
            Criterion::FirstReturn => "Once, in the first period they return",
            Criterion::On => "In every period they return",
            Criterion::OnOrAfter => {
                "In a period if they returned then or in any later period up to now"
            }
        })
    });
    PossibleValuesParser::new(names).try_map(|s| s.parse::<Criterion>())
}

/// `--average`: how cohort column averages are taken.
pub fn average() -> impl TypedValueParser<Value = Average> {
    let names = Average::ALL.into_iter().map(|a| {
        PossibleValue::new(a.as_str()).help(match a {
            Average::Simple => "The mean of the row fractions",
            Average::Weighted => "The column's users over the cohorts' users",
        })
    });
    PossibleValuesParser::new(names).try_map(|s| s.parse::<Average>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn parse<T: Clone + Send + Sync + 'static>(
        parser: impl TypedValueParser<Value = T>,
        value: &str,
    ) -> Result<T, clap::Error> {
        let cmd = Command::new("t");
        parser.parse_ref(&cmd, Some(&Arg::new("x")), value.as_ref())
    }

    #[test]
    fn time_groups_parse_through_the_engine_and_only_the_listed_ones() {
        let funnel = || time_group(&[TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months]);
        for g in [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months] {
            assert_eq!(parse(funnel(), g.as_str()).unwrap(), g);
        }
        // Listed elsewhere, or spelled otherwise: refused, as a ValueEnum would.
        for bad in ["hours", "years", "day", "Days", "fortnights", ""] {
            assert!(parse(funnel(), bad).is_err(), "{bad}");
        }
        let shown: Vec<String> = funnel()
            .possible_values()
            .unwrap()
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(shown, ["days", "weeks", "months"]);
    }

    #[test]
    fn periods_are_singular_or_unique() {
        for g in TimeGroup::ALL {
            assert_eq!(
                parse(period_kind(), g.unit()).unwrap(),
                PeriodKind::Dated(g)
            );
            assert!(parse(period_kind(), g.as_str()).is_err(), "{g}");
        }
        assert_eq!(parse(period_kind(), "unique").unwrap(), PeriodKind::Unique);
        assert!(parse(period_kind(), "decade").is_err());
    }

    #[test]
    fn retention_modes_are_the_engines() {
        for c in Criterion::ALL {
            assert_eq!(parse(criterion(), c.as_str()).unwrap(), c);
        }
        for a in Average::ALL {
            assert_eq!(parse(average(), a.as_str()).unwrap(), a);
        }
        assert!(parse(criterion(), "later").is_err());
        assert!(parse(average(), "median").is_err());
    }
}
