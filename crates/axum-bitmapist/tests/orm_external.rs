//! SeaORM hooks with the external-id map on, on a real SQLite database: models keyed by
//! strings (UUID text) and by i64 beyond `u32` are marked by external id, no code needed.

#![cfg(feature = "sea-orm")]

use axum_bitmapist::AxumBitmapist;
use bitmapist::TimeGroup;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Schema, Set};

mod account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    axum_bitmapist::bitmapist_model!(ActiveModel, "account");
}

mod order {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orders")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    axum_bitmapist::bitmapist_model!(ActiveModel, "order", id = Column::Customer);
}

// One test: the hooks mark through the process's installed extension.
#[tokio::test]
async fn string_and_i64_keys_are_marked_by_external_id() {
    let ext = AxumBitmapist::builder()
        .url("memory://")
        .id_map(true)
        .build()
        .await
        .expect("build");
    let db = Database::connect("sqlite::memory:").await.expect("sqlite");
    let schema = Schema::new(db.get_database_backend());
    for stmt in [
        schema.create_table_from_entity(account::Entity),
        schema.create_table_from_entity(order::Entity),
    ] {
        db.execute(&stmt).await.expect("create table");
    }
    let uuid = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let a = account::ActiveModel {
        id: Set(uuid.into()),
        name: Set("alice".into()),
    }
    .insert(&db)
    .await
    .expect("insert");
    let mut am: account::ActiveModel = a.into();
    am.name = Set("alice b.".into());
    am.update(&db).await.expect("update");
    order::ActiveModel {
        customer: Set(-9_000_000_000),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert order");

    ext.shutdown().await.expect("shutdown");
    let c = ext.client();
    let day = |event: &str| {
        c.get_event_data(event, TimeGroup::Days, Utc::now())
            .expect("query")
    };
    for event in ["account:created", "account:updated"] {
        let users = day(event).external_ids().await.expect("ids");
        assert_eq!(users, vec![(1, Some(uuid.to_string()))], "{event}");
    }
    let users = day("order:created").external_ids().await.expect("ids");
    assert_eq!(users, vec![(2, Some("-9000000000".to_string()))]);
}
