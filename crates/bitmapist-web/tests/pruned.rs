//! Periods a retention policy pruned: the JSON marks them (`"pruned": true`), the event
//! page's bars say "pruned" (never 0), and the kept periods' counts equal a model.

use std::collections::{BTreeMap, HashSet};

use bitmapist::{Bitmapist, KeepPolicy, MarkOptions, Period, PruneSpec, TimeGroup};
use bitmapist_web::{Access, Dashboard};
use chrono::{Duration, NaiveDate};

use crate::support::*;

#[tokio::test]
async fn pruned_days_are_marked_not_zero() {
    let bm = Bitmapist::open("memory://").await.expect("memory store");
    let now = nov(22, 12);
    // Day d back: users 0..(d % 7 + 3).
    let mut model: BTreeMap<NaiveDate, HashSet<u32>> = BTreeMap::new();
    let mut marks = Vec::new();
    for back in 0..60i64 {
        let at = now - Duration::days(back);
        for uid in 0..u32::try_from(back % 7 + 3).expect("small") {
            marks.push(("user:active", uid, at));
            model.entry(at.date_naive()).or_default().insert(uid);
        }
    }
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
    let policy: KeepPolicy = "day:20d".parse().expect("policy");
    bm.prune(&PruneSpec::new(policy).now(now).apply(true))
        .await
        .expect("prune");
    let oldest = now.date_naive() - Duration::days(20);
    let core = Dashboard::new(bm)
        .access(Access::LoopbackOnly)
        .event_names_ttl(std::time::Duration::ZERO)
        .build();

    let res = core
        .handle(get(&format!("/api/events?now={NOW}"), local()))
        .await;
    let doc = json(&res);
    let daily = doc["events"][0]["daily"].as_array().expect("daily");
    let mut pruned_seen = 0;
    for point in daily {
        let day: NaiveDate = point["start"]
            .as_str()
            .expect("start")
            .parse()
            .expect("date");
        if day < oldest {
            assert_eq!(point["pruned"], true, "{point}");
            pruned_seen += 1;
        } else {
            assert!(point.get("pruned").is_none(), "{point}");
            assert_eq!(point["count"], model[&day].len() as u64, "{point}");
        }
    }
    assert!(pruned_seen > 0);

    let res = core
        .handle(get(&format!("/events/user%3Aactive?now={NOW}"), local()))
        .await;
    let page = text(&res);
    for back in 21..60 {
        let day = Period::day(now.date_naive() - Duration::days(back)).expect("day");
        if back < 90 {
            assert!(
                page.contains(&format!("{}: pruned</title>", day.label())),
                "{day}"
            );
            assert!(
                !page.contains(&format!("{}: 0</title>", day.label())),
                "{day}"
            );
        }
    }
    // One "pruned" caption over the run of pruned days, not one per bar.
    assert_eq!(page.matches(">pruned</text>").count(), 1);
    // Weeks and months were not pruned: their bars carry counts.
    let month = Period::containing(TimeGroup::Months, now).expect("month");
    assert!(page.contains(&format!("{}: ", month.label())));
    assert!(!page.contains(&format!("{}: pruned", month.label())));
}
