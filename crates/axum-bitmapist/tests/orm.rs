//! SeaORM hooks on a real SQLite database: one line opts a model in; inserts, updates and
//! deletes are marked after they succeed; bulk calls are not; a rolled-back transaction's
//! hooked write stays marked (SeaORM has no after-commit hook), as documented.

#![cfg(feature = "sea-orm")]

use axum_bitmapist::AxumBitmapist;
use bitmapist::{Bitmapist, TimeGroup};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Schema, Set,
    TransactionTrait,
};

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

mod document {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "documents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub owner_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    // Marks for the owner, not for the document's (string) key.
    axum_bitmapist::bitmapist_model!(ActiveModel, "document", id = Column::OwnerId);
}

async fn db() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.expect("sqlite");
    let schema = Schema::new(db.get_database_backend());
    for stmt in [
        schema.create_table_from_entity(user::Entity),
        schema.create_table_from_entity(document::Entity),
    ] {
        db.execute(&stmt).await.expect("create table");
    }
    db
}

async fn ids(c: &Bitmapist, event: &str) -> Vec<u32> {
    c.get_event_data(event, TimeGroup::Days, Utc::now())
        .expect("query")
        .ids()
        .await
        .expect("ids")
        .collect()
}

// One test: the hooks mark through the process's installed extension.
#[tokio::test]
async fn model_writes_are_marked_after_they_succeed() {
    let ext = AxumBitmapist::builder()
        .url("memory://")
        .build()
        .await
        .expect("build");
    let db = db().await;

    let alice = user::ActiveModel {
        name: Set("alice".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert");
    let bob = user::ActiveModel {
        name: Set("bob".into()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert");
    let mut a: user::ActiveModel = alice.clone().into();
    a.name = Set("alice b.".into());
    a.update(&db).await.expect("update");
    let b: user::ActiveModel = bob.clone().into();
    b.delete(&db).await.expect("delete");

    // A failed write marks nothing: inserting an existing primary key.
    let dup = user::ActiveModel {
        id: Set(alice.id),
        name: Set("dup".into()),
    }
    .insert(&db)
    .await;
    assert!(dup.is_err());

    // Bulk calls fire no hooks.
    user::Entity::insert_many([
        user::ActiveModel {
            name: Set("c".into()),
            ..Default::default()
        },
        user::ActiveModel {
            name: Set("d".into()),
            ..Default::default()
        },
    ])
    .exec(&db)
    .await
    .expect("insert_many");

    // A rolled-back transaction: the hook ran when the INSERT succeeded inside it.
    let txn = db.begin().await.expect("begin");
    let ghost = user::ActiveModel {
        name: Set("ghost".into()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .expect("insert in txn");
    txn.rollback().await.expect("rollback");
    assert!(
        user::Entity::find_by_id(ghost.id)
            .one(&db)
            .await
            .expect("find")
            .is_none()
    );

    // The id column is configurable; string keys are not used.
    document::ActiveModel {
        id: Set("doc-1".into()),
        owner_id: Set(99),
    }
    .insert(&db)
    .await
    .expect("insert doc");
    // An owner id beyond u32: written fine, not marked, no panic.
    document::ActiveModel {
        id: Set("doc-2".into()),
        owner_id: Set(-1),
    }
    .insert(&db)
    .await
    .expect("insert doc");

    ext.shutdown().await.expect("shutdown");
    let c = ext.client();
    let (a_id, b_id, g_id) = (alice.id as u32, bob.id as u32, ghost.id as u32);
    let mut created = vec![a_id, b_id, g_id];
    created.sort_unstable();
    assert_eq!(
        ids(c, "user:created").await,
        created,
        "inserts, including the rolled-back one"
    );
    assert_eq!(ids(c, "user:updated").await, vec![a_id]);
    assert_eq!(ids(c, "user:deleted").await, vec![b_id]);
    assert_eq!(ids(c, "document:created").await, vec![99]);
    let names = c.event_names(None).await.expect("names");
    assert_eq!(
        names,
        vec![
            "document:created",
            "user:created",
            "user:deleted",
            "user:updated"
        ]
    );
}
