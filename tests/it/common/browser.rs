//! A browser without JavaScript for page tests: keeps cookies, does not follow redirects.

use std::collections::HashMap;

use reqwest::StatusCode;

use super::TestApp;

pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// The anti-forgery token of the last page that had a form.
    form_token: Option<String>,
    user_agent: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            app,
            client,
            cookies: HashMap::new(),
            form_token: None,
            user_agent: None,
        }
    }

    /// A browser that sends `user_agent` as its User-Agent.
    pub fn with_user_agent(app: &'a TestApp, user_agent: &str) -> Self {
        let mut b = Self::new(app);
        b.user_agent = Some(user_agent.to_string());
        b
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header());
        if let Some(ua) = &self.user_agent {
            r = r.header("user-agent", ua);
        }
        r
    }

    /// The `Cookie` header this browser sends, for requests made by hand.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&mut self, res: reqwest::Response) -> Page {
        for v in res.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let html = res.text().await.unwrap();
        const FIELD: &str = r#"name="csrf" value=""#;
        if let Some(at) = html.find(FIELD) {
            let rest = &html[at + FIELD.len()..];
            self.form_token = rest.split('"').next().map(str::to_string);
        }
        Page { status, headers, html }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self.request(reqwest::Method::GET, path).send().await.unwrap();
        self.take(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .request(reqwest::Method::POST, path)
            .form(form)
            .send()
            .await
            .unwrap();
        self.take(res).await
    }

    /// The anti-forgery token of the last page with a form: bound to this browser's session,
    /// or (signed out) to its pre-session.
    pub fn csrf(&self) -> String {
        self.form_token
            .clone()
            .expect("a page with a form (and its anti-forgery token)")
    }

    /// Sign in as `email` by the link from the outbox.
    pub async fn sign_in(&mut self, email: &str) {
        self.get("/logg-inn").await;
        let csrf = self.csrf();
        self.post("/logg-inn", &[("csrf", &csrf), ("email", email)]).await;
        let text = super::login_mail_text(self.app, email).await.expect("a sign-in mail");
        let at = text.find("/logg-inn/lenke/").unwrap();
        let link = text[at..at + "/logg-inn/lenke/".len() + 64].to_string();
        let page = self.post(&link, &[("csrf", &csrf)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "signed in as {email}");
        // Where the redirect leads, as a browser goes there: the forms of the new session.
        let to = page.headers["location"].to_str().unwrap().to_string();
        self.get(&to).await;
    }
}
