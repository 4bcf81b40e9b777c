//! The actix-identity adapter (0.9, on actix-session 0.11): login tracking
//! (`user:logged_in` / `user:logged_out`) with no handler code, and the identity's id as the
//! current user. Every read of actix-identity's state is here.
//!
//! actix-identity has no login hooks: `Identity::login` writes the user id into the
//! session under its id key and `Identity::logout` purges the session (or removes the
//! key). [`LoginTracking`] sits inside `IdentityMiddleware`: it reads the identity before
//! the handler runs and the session's id key after it. Logged out before and in after
//! marks `user:logged_in` for the new id; the reverse marks `user:logged_out` for the old
//! one; a switch marks both. The status code does not matter (login handlers usually
//! redirect). Apps that log users in elsewhere call [`logged_in`] / [`logged_out`].
//!
//! ```no_run
//! use actix_identity::IdentityMiddleware;
//! use actix_session::{SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, cookie::Key};
//! # async fn doc() -> bitmapist::Result<()> {
//! let bitmapist = actix_bitmapist::ActixBitmapist::builder_from_env()?
//!     .actix_identity()                 // the current user is the identity's id
//!     .build()
//!     .await?;
//! let key = Key::generate();
//! let app = App::new()
//!     .configure(bitmapist.init_app())
//!     .wrap(bitmapist.login_tracking())   // inside IdentityMiddleware: wrap it first
//!     .wrap(IdentityMiddleware::default())
//!     .wrap(SessionMiddleware::new(CookieSessionStore::default(), key));
//! # let _ = app; Ok(()) }
//! ```
//!
//! What it reads of actix-identity 0.9: the `Identity` from `IdentityExt::get_identity`,
//! and the session entry under the identity's id key ([`DEFAULT_ID_KEY`] unless
//! [`LoginTracking::id_key`] says otherwise, as `IdentityMiddleware::builder().id_key(..)`).

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_identity::IdentityExt;
use actix_session::SessionExt;
use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use bitmapist::MarkOptions;
use bitmapist_web::{MarkError, MarkKind};
use chrono::Utc;

use crate::extension::{ActixBitmapist, Builder};
use crate::user::UserSource;

/// The event marked when a user logs in.
pub const LOGGED_IN: &str = "user:logged_in";
/// The event marked when a user logs out.
pub const LOGGED_OUT: &str = "user:logged_out";
/// actix-identity's default session key for the user id.
pub const DEFAULT_ID_KEY: &str = "actix_identity.user_id";

impl UserSource {
    /// The logged-in user of actix-identity (`Identity::id`). Any id works with the
    /// external-id map on; with it off, the id must be a decimal `u32`.
    pub fn identity() -> Self {
        UserSource::from_display_fn(|req| req.get_identity().ok().and_then(|i| i.id().ok()))
    }
}

impl Builder {
    /// With actix-identity: the current user is the identity's id. Add
    /// [`ActixBitmapist::login_tracking`] to the app to mark logins and logouts.
    pub fn actix_identity(self) -> Self {
        self.user_source(UserSource::identity())
    }
}

impl ActixBitmapist {
    /// The middleware that marks `user:logged_in` / `user:logged_out` when a request logs
    /// a user in or out; `.wrap` it before (inside) `IdentityMiddleware`.
    pub fn login_tracking(&self) -> LoginTracking {
        LoginTracking {
            ext: self.clone(),
            id_key: DEFAULT_ID_KEY,
        }
    }
}

/// Queues `user:logged_in` for `uid`.
pub fn logged_in(ext: &ActixBitmapist, uid: u32) -> Result<(), MarkError> {
    ext.mark_event(LOGGED_IN, uid)
}

/// Queues `user:logged_out` for `uid`.
pub fn logged_out(ext: &ActixBitmapist, uid: u32) -> Result<(), MarkError> {
    ext.mark_event(LOGGED_OUT, uid)
}

/// See [`ActixBitmapist::login_tracking`].
#[derive(Clone, Debug)]
pub struct LoginTracking {
    ext: ActixBitmapist,
    id_key: &'static str,
}

impl LoginTracking {
    /// The session key actix-identity keeps the user id under, when the app changed it
    /// with `IdentityMiddleware::builder().id_key(..)`.
    pub fn id_key(mut self, key: &'static str) -> Self {
        self.id_key = key;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for LoginTracking
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = LoginTrackingMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<LoginTrackingMiddleware<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(LoginTrackingMiddleware {
            service: Rc::new(service),
            tracking: Rc::new(self.clone()),
        }))
    }
}

/// The service of [`LoginTracking`].
#[derive(Debug)]
pub struct LoginTrackingMiddleware<S> {
    service: Rc<S>,
    tracking: Rc<LoginTracking>,
}

impl<S, B> Service<ServiceRequest> for LoginTrackingMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, Error>>>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let was = req.get_identity().ok().and_then(|i| i.id().ok());
        let session = req.get_session();
        let fut = self.service.call(req);
        let tracking = Rc::clone(&self.tracking);
        Box::pin(async move {
            let res = fut.await?;
            let now = match session.get::<String>(tracking.id_key) {
                Ok(now) => now,
                Err(e) => {
                    tracing::warn!(error = %e, "bitmapist: cannot read the session after the request");
                    None
                }
            };
            if was != now {
                let marks = [(LOGGED_OUT, was), (LOGGED_IN, now)];
                for (event, id) in marks {
                    let Some(id) = id else { continue };
                    match tracking.ext.key_of(&id) {
                        // A refused mark is counted in the queue's statistics.
                        Ok(user) => {
                            let opts = MarkOptions::default();
                            let _ = tracking.ext.mark_key(
                                event,
                                user,
                                Utc::now(),
                                opts,
                                MarkKind::Mark,
                            );
                        }
                        Err(e) => tracing::warn!(error = %e, event, "bitmapist: mark not tracked"),
                    }
                }
            }
            Ok(res)
        })
    }
}
