//! SeaORM hooks: `{model}:created`, `{model}:updated`, `{model}:deleted`, marked with the
//! model's id after the write succeeds. One line opts a model in: [`bitmapist_model!`](crate::bitmapist_model).
//!
//! ```ignore
//! // In the entity module, instead of `impl ActiveModelBehavior for ActiveModel {}`:
//! axum_bitmapist::bitmapist_model!(ActiveModel, "user");
//! // Another id column (e.g. marks of a document for its owner):
//! axum_bitmapist::bitmapist_model!(ActiveModel, "document", id = Column::OwnerId);
//! ```
//!
//! What fires and what does not (SeaORM 2):
//! - `ActiveModel::insert`, `update`, `save` and `delete`, and `Entity::delete(active)`, run
//!   the hooks: one mark each, after the statement succeeded;
//! - bulk calls do not: `Entity::insert_many`, `Entity::update_many`, `Entity::delete_many`,
//!   raw statements, and `insert(..).exec(..)` on the entity. Mark those with
//!   [`mark_created`] and friends if you need them;
//! - transactions: the hook runs when the statement succeeds inside the transaction, not
//!   at commit. SeaORM has no after-commit hook, so a transaction that rolls back after a
//!   hooked write still leaves its mark (the mark records the attempt). Apps that must not
//!   mark rolled-back writes call the helpers after `commit()` instead of using the macro.
//!
//! The marks go through the process's installed [`Marker`] (building an adapter's
//! extension installs its marker; the last one built wins) and its queue: a hook never
//! waits on the store and never fails the write. With no marker installed, hooks log a
//! warning and do nothing. The hooks know no web framework: this module is shared by the
//! adapters rather than copied into each.

use sea_orm::{
    ActiveModelTrait, ActiveValue, EntityTrait, Iterable, ModelTrait, PrimaryKeyToColumn, Value,
};

use crate::marker::Marker;
use crate::queue::MarkError;

#[doc(hidden)]
pub use async_trait::async_trait;

/// Which column holds the id a model's events are marked with.
#[derive(Clone, Copy, Debug)]
pub enum IdColumn<C> {
    /// The (first) primary key column.
    PrimaryKey,
    /// Another column.
    Column(C),
}

/// An id value as a u32, if it is an integer in range or a decimal string.
fn value_id(v: &Value) -> Option<u32> {
    use crate::user::IntoUserId;
    let r = match v {
        Value::TinyInt(Some(n)) => n.user_id(),
        Value::SmallInt(Some(n)) => n.user_id(),
        Value::Int(Some(n)) => n.user_id(),
        Value::BigInt(Some(n)) => n.user_id(),
        Value::TinyUnsigned(Some(n)) => n.user_id(),
        Value::SmallUnsigned(Some(n)) => n.user_id(),
        Value::Unsigned(Some(n)) => n.user_id(),
        Value::BigUnsigned(Some(n)) => n.user_id(),
        Value::String(Some(s)) => s.user_id(),
        _ => return None,
    };
    r.map_err(|e| tracing::warn!(error = %e, "bitmapist: model id not tracked"))
        .ok()
}

fn column<E: EntityTrait>(id: IdColumn<E::Column>) -> Option<E::Column> {
    match id {
        IdColumn::Column(c) => Some(c),
        IdColumn::PrimaryKey => E::PrimaryKey::iter().next().map(|pk| pk.into_column()),
    }
}

/// The id of a saved model.
pub fn model_id<M: ModelTrait>(
    model: &M,
    id: IdColumn<<M::Entity as EntityTrait>::Column>,
) -> Option<u32> {
    column::<M::Entity>(id).and_then(|c| value_id(&model.get(c)))
}

/// The id of an active model (as passed to `after_delete`).
pub fn active_model_id<A: ActiveModelTrait>(
    am: &A,
    id: IdColumn<<A::Entity as EntityTrait>::Column>,
) -> Option<u32> {
    let c = column::<A::Entity>(id)?;
    match am.get(c) {
        ActiveValue::Set(v) | ActiveValue::Unchanged(v) => value_id(&v),
        ActiveValue::NotSet => None,
    }
}

fn mark(prefix: &str, action: &str, uid: u32) -> Result<(), MarkError> {
    match Marker::installed() {
        Some(marker) => marker.mark_event(format!("{prefix}:{action}"), uid),
        None => {
            tracing::warn!("bitmapist: no bitmapist extension built; ORM event not marked");
            Err(MarkError::NotInstalled)
        }
    }
}

/// Queues `{prefix}:created` for `uid`.
pub fn mark_created(prefix: &str, uid: u32) -> Result<(), MarkError> {
    mark(prefix, "created", uid)
}

/// Queues `{prefix}:updated` for `uid`.
pub fn mark_updated(prefix: &str, uid: u32) -> Result<(), MarkError> {
    mark(prefix, "updated", uid)
}

/// Queues `{prefix}:deleted` for `uid`.
pub fn mark_deleted(prefix: &str, uid: u32) -> Result<(), MarkError> {
    mark(prefix, "deleted", uid)
}

/// An id value's text (integers and strings), for the external-id map.
fn value_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::TinyInt(Some(n)) => n.to_string(),
        Value::SmallInt(Some(n)) => n.to_string(),
        Value::Int(Some(n)) => n.to_string(),
        Value::BigInt(Some(n)) => n.to_string(),
        Value::TinyUnsigned(Some(n)) => n.to_string(),
        Value::SmallUnsigned(Some(n)) => n.to_string(),
        Value::Unsigned(Some(n)) => n.to_string(),
        Value::BigUnsigned(Some(n)) => n.to_string(),
        Value::String(Some(s)) => s.clone(),
        _ => return None,
    })
}

/// With the external-id map on, marks `{prefix}:{action}` for the id's text and answers
/// `true`; `false` when the map is off (the caller marks the `u32`).
fn mark_mapped(prefix: &str, action: &str, v: Option<Value>) -> bool {
    let Some(marker) = Marker::installed().filter(Marker::id_map_enabled) else {
        return false;
    };
    if let Some(text) = v.as_ref().and_then(value_text) {
        let _ = marker.mark_event_external(format!("{prefix}:{action}"), text);
    }
    true
}

/// The body of the generated `after_save`.
#[doc(hidden)]
pub fn saved<M: ModelTrait>(
    model: &M,
    insert: bool,
    prefix: &str,
    id: IdColumn<<M::Entity as EntityTrait>::Column>,
) {
    let action = if insert { "created" } else { "updated" };
    if mark_mapped(
        prefix,
        action,
        column::<M::Entity>(id).map(|c| model.get(c)),
    ) {
        return;
    }
    if let Some(uid) = model_id(model, id) {
        let _ = if insert {
            mark_created(prefix, uid)
        } else {
            mark_updated(prefix, uid)
        };
    }
}

/// The body of the generated `after_delete`.
#[doc(hidden)]
pub fn deleted<A: ActiveModelTrait>(
    am: &A,
    prefix: &str,
    id: IdColumn<<A::Entity as EntityTrait>::Column>,
) {
    let value = column::<A::Entity>(id).and_then(|c| match am.get(c) {
        ActiveValue::Set(v) | ActiveValue::Unchanged(v) => Some(v),
        ActiveValue::NotSet => None,
    });
    if mark_mapped(prefix, "deleted", value) {
        return;
    }
    if let Some(uid) = active_model_id(am, id) {
        let _ = mark_deleted(prefix, uid);
    }
}

/// Implements `ActiveModelBehavior` for a SeaORM active model so that its inserts,
/// updates and deletes are marked as `{prefix}:created`, `:updated`, `:deleted` (see the
/// [module docs](crate::orm)).
#[macro_export]
macro_rules! bitmapist_model {
    ($active_model:ty, $prefix:expr) => {
        $crate::bitmapist_model!(@impl $active_model, $prefix, $crate::orm::IdColumn::PrimaryKey);
    };
    ($active_model:ty, $prefix:expr, id = $column:expr) => {
        $crate::bitmapist_model!(@impl $active_model, $prefix, $crate::orm::IdColumn::Column($column));
    };
    (@impl $active_model:ty, $prefix:expr, $id:expr) => {
        #[$crate::orm::async_trait]
        impl ::sea_orm::ActiveModelBehavior for $active_model {
            async fn after_save<C>(
                model: <<Self as ::sea_orm::ActiveModelTrait>::Entity as ::sea_orm::EntityTrait>::Model,
                _db: &C,
                insert: bool,
            ) -> ::std::result::Result<
                <<Self as ::sea_orm::ActiveModelTrait>::Entity as ::sea_orm::EntityTrait>::Model,
                ::sea_orm::DbErr,
            >
            where
                C: ::sea_orm::ConnectionTrait,
            {
                $crate::orm::saved(&model, insert, $prefix, $id);
                Ok(model)
            }

            async fn after_delete<C>(self, _db: &C) -> ::std::result::Result<Self, ::sea_orm::DbErr>
            where
                C: ::sea_orm::ConnectionTrait,
            {
                $crate::orm::deleted(&self, $prefix, $id);
                Ok(self)
            }
        }
    };
}
