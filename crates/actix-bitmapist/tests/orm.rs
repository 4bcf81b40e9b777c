//! The SeaORM hooks shared with axum-bitmapist, through actix-bitmapist: a model opted in
//! with `actix_bitmapist::bitmapist_model!` is marked when handlers of a real actix-web
//! server write it (SQLite through SeaORM), through the marker the actix extension
//! installed. A test binary of its own: the installed marker is process-wide state.

#![cfg(feature = "sea-orm")]

use std::collections::BTreeSet;

use actix_bitmapist::ActixBitmapist;
use actix_web::{App, HttpResponse, HttpServer, web};
use bitmapist::{Bitmapist, TimeGroup};
use bitmapist_test_support::http;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, Schema, Set,
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

    actix_bitmapist::bitmapist_model!(ActiveModel, "user");
}

async fn create(db: web::Data<DatabaseConnection>, name: web::Path<String>) -> HttpResponse {
    let am = user::ActiveModel {
        name: Set(name.into_inner()),
        ..Default::default()
    };
    match am.insert(db.get_ref()).await {
        Ok(u) => HttpResponse::Ok().body(u.id.to_string()),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn rename(db: web::Data<DatabaseConnection>, id: web::Path<i32>) -> HttpResponse {
    let am = user::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.into_inner()),
        name: Set("renamed".into()),
    };
    match am.update(db.get_ref()).await {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn remove(db: web::Data<DatabaseConnection>, id: web::Path<i32>) -> HttpResponse {
    let am = user::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.into_inner()),
        ..Default::default()
    };
    match am.delete(db.get_ref()).await {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn ids(c: &Bitmapist, event: &str) -> BTreeSet<u32> {
    c.get_event_data(event, TimeGroup::Days, Utc::now())
        .expect("query")
        .ids()
        .await
        .expect("ids")
        .collect()
}

#[actix_web::test]
async fn model_writes_in_actix_handlers_are_marked_through_the_shared_hooks() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .build()
        .await
        .expect("build");
    let db = Database::connect("sqlite::memory:").await.expect("sqlite");
    let schema = Schema::new(db.get_database_backend());
    db.execute(&schema.create_table_from_entity(user::Entity))
        .await
        .expect("create table");
    let db = web::Data::new(db);
    let (app_ext, app_db) = (ext.clone(), db.clone());
    let server = HttpServer::new(move || {
        App::new()
            .configure(app_ext.init_app())
            .app_data(app_db.clone())
            .route("/users/{name}", web::post().to(create))
            .route("/users/{id}/rename", web::post().to(rename))
            .route("/users/{id}/delete", web::post().to(remove))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let replies = tokio::task::spawn_blocking(move || {
        let mut created = Vec::new();
        for name in ["alice", "bob", "carol", "dave"] {
            let r = http::request(addr, "POST", &format!("/users/{name}"), None, &[]);
            assert_eq!(r.status, 200, "{}", r.body);
            created.push(r.body.parse::<u32>().expect("an id"));
        }
        for id in &created[..2] {
            let r = http::request(addr, "POST", &format!("/users/{id}/rename"), None, &[]);
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let r = http::request(
            addr,
            "POST",
            &format!("/users/{}/delete", created[3]),
            None,
            &[],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        created
    })
    .await
    .expect("client");
    handle.stop(true).await;
    ext.shutdown().await.expect("shutdown");

    let c = ext.client();
    let created: BTreeSet<u32> = replies.iter().copied().collect();
    assert_eq!(ids(c, "user:created").await, created);
    assert_eq!(
        ids(c, "user:updated").await,
        replies[..2].iter().copied().collect()
    );
    assert_eq!(ids(c, "user:deleted").await, BTreeSet::from([replies[3]]));
    // The rows agree with the marks: the deleted one is gone.
    let rows = user::Entity::find().all(db.get_ref()).await.expect("rows");
    assert_eq!(rows.len(), 3);
    assert_eq!(ext.stats().written, 7);
}
