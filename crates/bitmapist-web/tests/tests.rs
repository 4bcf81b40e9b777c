//! The dashboard core's tests, through `DashboardCore::handle` and no web framework, one
//! module per topic: `handle` (routing, the guard, 400/404/405/413, the heavy bound, the
//! security headers), `hardening` (the store's zone, events never marked, empty choices,
//! the mount's slash, the overview's bound); `support` holds what they share.

mod handle;
mod hardening;
mod pruned;
mod support;
