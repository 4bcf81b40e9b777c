//! Periods a retention policy pruned: the JSON marks them (`"pruned": true`, trends' windows
//! that reach them), the event page's bars say "pruned" (never 0), and the kept periods'
//! counts equal a model.

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
    // Trends: a window that reaches a pruned day names its measure as pruned; the others
    // are the model's unions.
    let res = core
        .handle(get(
            &format!("/api/trends?event=user%3Aactive&days=40&now={NOW}"),
            local(),
        ))
        .await;
    let doc = json(&res);
    let days = doc["days"].as_array().expect("days");
    assert_eq!(days.len(), 40);
    let mut windows_pruned = 0;
    for point in days {
        let day: NaiveDate = point["day"].as_str().expect("day").parse().expect("date");
        let pruned: Vec<&str> = point
            .get("pruned")
            .map(|p| {
                p.as_array()
                    .expect("list")
                    .iter()
                    .map(|v| v.as_str().expect("name"))
                    .collect()
            })
            .unwrap_or_default();
        for (name, w) in [("dau", 1i64), ("wau", 7), ("mau", 30)] {
            let start = day - Duration::days(w - 1);
            if start < oldest {
                assert!(pruned.contains(&name), "{name} {point}");
                windows_pruned += 1;
            } else {
                assert!(!pruned.contains(&name), "{name} {point}");
                let users: HashSet<u32> = model
                    .range(start..=day)
                    .flat_map(|(_, u)| u.iter().copied())
                    .collect();
                assert_eq!(point[name], users.len() as u64, "{name} {point}");
            }
        }
    }
    assert!(windows_pruned > 0);

    // Weeks and months were not pruned: their bars carry counts.
    let month = Period::containing(TimeGroup::Months, now).expect("month");
    assert!(page.contains(&format!("{}: ", month.label())));
    assert!(!page.contains(&format!("{}: pruned", month.label())));
}

#[tokio::test]
async fn pruned_cohort_cells_are_marked_not_zero() {
    let bm = Bitmapist::open("memory://").await.expect("memory store");
    let now = nov(22, 12);
    let mut marks = Vec::new();
    for back in 0..30i64 {
        let at = now - Duration::days(back);
        for uid in 0..5u32 {
            marks.push((
                "user:active",
                uid + u32::try_from(back % 3).expect("small"),
                at,
            ));
        }
    }
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
    bm.prune(
        &PruneSpec::new("day:10d".parse().expect("policy"))
            .now(now)
            .apply(true),
    )
    .await
    .expect("prune");
    let oldest = now.date_naive() - Duration::days(10);
    let core = Dashboard::new(bm)
        .access(Access::LoopbackOnly)
        .event_names_ttl(std::time::Duration::ZERO)
        .build();
    let q = format!(
        "primary_event=user%3Aactive&secondary_event=user%3Aactive&time_group=days&num_rows=20&num_cols=5&now={NOW}"
    );
    let doc = json(&core.handle(get(&format!("/api/cohort?{q}"), local())).await);
    let pruned = doc["pruned"].as_array().expect("pruned marks");
    let dates = doc["dates"].as_array().expect("dates");
    assert_eq!(pruned.len(), 20);
    for (i, row) in pruned.iter().enumerate() {
        let start: NaiveDate = dates[i].as_str().expect("date")[..10]
            .parse()
            .expect("date");
        for (j, flag) in row.as_array().expect("row").iter().enumerate() {
            let cell = start + Duration::days(i64::try_from(j).expect("small"));
            assert_eq!(
                flag.as_bool(),
                Some(start < oldest || cell < oldest),
                "{start} + {j}"
            );
        }
    }
    // Kept rows whose cells are kept carry counts; the page shows "pruned" in the others.
    let page = text(&core.handle(get(&format!("/cohort?{q}"), local())).await);
    assert!(page.contains("pruned: no data kept for this period"));
    // A store never pruned has no marks.
    let fresh = Bitmapist::open("memory://").await.expect("memory store");
    fill(&fresh).await;
    let core = Dashboard::new(fresh).build();
    let doc = json(&core.handle(get(&format!("/api/cohort?{q}"), local())).await);
    assert!(doc.get("pruned").is_none());
}

#[tokio::test]
async fn pruned_funnel_lifecycle_and_stickiness_say_so() {
    let bm = Bitmapist::open("memory://").await.expect("memory store");
    let now = nov(22, 12);
    // Day d back: users 0..(d % 5 + 2) visit, the even ones of them buy.
    let mut visits: BTreeMap<NaiveDate, HashSet<u32>> = BTreeMap::new();
    let mut marks = Vec::new();
    for back in 0..40i64 {
        let at = now - Duration::days(back);
        for uid in 0..u32::try_from(back % 5 + 2).expect("small") {
            marks.push(("visit", uid, at));
            if uid % 2 == 0 {
                marks.push(("buy", uid, at));
            }
            visits.entry(at.date_naive()).or_default().insert(uid);
        }
    }
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
    let policy: KeepPolicy = "day:10d".parse().expect("policy");
    bm.prune(&PruneSpec::new(policy).now(now).apply(true))
        .await
        .expect("prune");
    let oldest = now.date_naive() - Duration::days(10);
    let core = Dashboard::new(bm)
        .access(Access::LoopbackOnly)
        .event_names_ttl(std::time::Duration::ZERO)
        .build();

    // Funnel: a row is pruned exactly when its entry day is; kept rows count the model (each
    // user enters once, on their first row).
    let q = format!("step=visit&step=buy&time_group=days&rows=20&window=1&now={NOW}");
    let doc = json(&core.handle(get(&format!("/api/funnel?{q}"), local())).await);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 20);
    let mut pruned_rows = 0;
    for row in rows {
        let day: NaiveDate = row["start"].as_str().expect("start").parse().expect("date");
        if day < oldest {
            assert_eq!(row["pruned"], true, "{row}");
            pruned_rows += 1;
        } else {
            assert!(row.get("pruned").is_none(), "{row}");
            // Entrants: the day's visitors who did not enter on an earlier kept row.
            let earlier: HashSet<u32> = visits
                .range(oldest..day)
                .flat_map(|(_, u)| u.iter().copied())
                .collect();
            let entrants = visits[&day].difference(&earlier).count();
            assert_eq!(row["counts"][0], entrants as u64, "{row}");
        }
    }
    assert!(pruned_rows > 0);
    let page = text(&core.handle(get(&format!("/funnel?{q}"), local())).await);
    assert_eq!(
        page.matches(">pruned</td>").count(),
        pruned_rows * 2,
        "two steps per pruned row"
    );

    // Lifecycle: a row is pruned when its previous day is; kept rows are the model's.
    let q = format!("event=visit&time_group=days&periods=20&now={NOW}");
    let doc = json(
        &core
            .handle(get(&format!("/api/lifecycle?{q}"), local()))
            .await,
    );
    let rows = doc["rows"].as_array().expect("rows");
    let mut pruned_rows = 0;
    for row in rows {
        let day: NaiveDate = row["start"].as_str().expect("start").parse().expect("date");
        if day - Duration::days(1) < oldest {
            assert_eq!(row["pruned"], true, "{row}");
            pruned_rows += 1;
        } else {
            assert!(row.get("pruned").is_none(), "{row}");
            let (a, prev) = (&visits[&day], &visits[&(day - Duration::days(1))]);
            assert_eq!(row["dormant"], prev.difference(a).count() as u64, "{row}");
        }
    }
    assert!(pruned_rows > 0);
    let page = text(&core.handle(get(&format!("/lifecycle?{q}"), local())).await);
    assert!(page.contains(">pruned</td>"), "the table says pruned");

    // Stickiness: the month began before the horizon (pruned); the week did not, and its
    // buckets are the model's.
    let sticky = |group: &str| format!("/api/events/visit/stickiness?time_group={group}&at={NOW}");
    let month = json(&core.handle(get(&sticky("months"), local())).await);
    assert_eq!(month["pruned"], true, "{month}");
    let week = json(&core.handle(get(&sticky("weeks"), local())).await);
    assert!(week.get("pruned").is_none(), "{week}");
    let start: NaiveDate = week["start"]
        .as_str()
        .expect("start")
        .parse()
        .expect("date");
    let mut days_active: BTreeMap<u32, usize> = BTreeMap::new();
    for (_, users) in visits.range(start..=now.date_naive()) {
        for &u in users {
            *days_active.entry(u).or_default() += 1;
        }
    }
    let buckets = week["days"].as_array().expect("days");
    for (k, n) in buckets.iter().enumerate() {
        let want = days_active.values().filter(|&&d| d == k + 1).count();
        assert_eq!(n, want as u64, "users active on exactly {} days", k + 1);
    }
    let page = text(
        &core
            .handle(get(&format!("/events/visit?now={NOW}"), local()))
            .await,
    );
    assert_eq!(
        page.matches("pruned: the retention policy deleted").count(),
        1
    );
}
