//! The ORM hooks with no extension built in the process: the helpers answer
//! `MarkError::NotInstalled` (not `ShutDown`), a hooked write still succeeds, unmarked.
//! A test binary of its own: the installed extension is process-wide state.

#![cfg(feature = "sea-orm")]

use axum_bitmapist::{AxumBitmapist, MarkError, orm};
use bitmapist::TimeGroup;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Schema, Set};

mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    axum_bitmapist::bitmapist_model!(ActiveModel, "user");
}

// One test: the "not installed" state must be checked before any extension is built.
#[tokio::test]
async fn with_no_extension_marks_are_refused_as_not_installed_and_writes_succeed() {
    for mark in [orm::mark_created, orm::mark_updated, orm::mark_deleted] {
        assert!(
            matches!(mark("user", 1), Err(MarkError::NotInstalled)),
            "expected NotInstalled"
        );
    }
    let db = Database::connect("sqlite::memory:").await.expect("sqlite");
    let schema = Schema::new(db.get_database_backend());
    db.execute(&schema.create_table_from_entity(user::Entity))
        .await
        .expect("create table");
    // The hook finds no extension: the write still succeeds.
    let alice = user::ActiveModel {
        name: Set("alice".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert without an extension");

    // Once one is built, the same calls mark (so the refusal above was the missing
    // extension, not the arguments), and the earlier write stayed unmarked.
    let ext = AxumBitmapist::builder()
        .url("memory://")
        .build()
        .await
        .expect("build");
    orm::mark_created("user", 7).expect("mark with an extension");
    ext.shutdown().await.expect("shutdown");
    let ids: Vec<u32> = ext
        .client()
        .get_event_data("user:created", TimeGroup::Days, Utc::now())
        .expect("query")
        .ids()
        .await
        .expect("ids")
        .collect();
    assert_eq!(ids, vec![7], "alice ({}) was written unmarked", alice.id);
}
