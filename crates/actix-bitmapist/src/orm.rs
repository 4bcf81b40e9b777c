//! SeaORM hooks: `{model}:created`, `{model}:updated`, `{model}:deleted`, marked with the
//! model's id after the write succeeds. One line opts a model in:
//! [`bitmapist_model!`](crate::bitmapist_model).
//!
//! ```ignore
//! // In the entity module, instead of `impl ActiveModelBehavior for ActiveModel {}`:
//! actix_bitmapist::bitmapist_model!(ActiveModel, "user");
//! // Another id column (e.g. marks of a document for its owner):
//! actix_bitmapist::bitmapist_model!(ActiveModel, "document", id = Column::OwnerId);
//! ```
//!
//! The hooks are the ones axum-bitmapist uses (`bitmapist_web::orm`, where what fires and
//! what does not is listed): they mark through the process's installed marker, which
//! [`ActixBitmapist`]'s builder installs (the last extension built wins). A hook never
//! waits on the store and never fails the write.

pub use bitmapist_web::orm::*;

use crate::extension::ActixBitmapist;

/// Makes `ext` the extension the ORM hooks mark through (the same as
/// [`ActixBitmapist::make_current`]; [`Builder::build`](crate::Builder::build) does it).
pub fn install(ext: &ActixBitmapist) {
    ext.make_current();
}
