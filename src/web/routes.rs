//! The router's routes outside the API, registered through one list: the pages and the
//! calendar feeds are built with [`Routes`], which keeps the method and path of each route it
//! registers. [`super::page_routes`] hands that list to the authorisation test, which fails
//! for a route missing from its table. (The API's routes are listed by its generated
//! document.) No module of `web/` registers a route past this type.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::Router;

use super::AppState;

/// Routes and the list of their methods and paths, built together.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    list: Vec<(Method, &'static str)>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// `GET` (and so `HEAD`) `path`.
    pub fn get<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, routing::get(handler))
    }

    /// `POST` `path`.
    pub fn post<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, routing::post(handler))
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>) -> Self {
        // A second method on a path joins the first (axum merges them).
        self.router = self.router.route(path, route);
        self.list.push((method, path));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.list.extend(other.list);
        self
    }

    /// Change the router of the routes so far (to add a layer to them), keeping their list.
    pub fn map_router(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The method and path of every route, in the order they were registered.
    pub fn list(&self) -> &[(Method, &'static str)] {
        &self.list
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
