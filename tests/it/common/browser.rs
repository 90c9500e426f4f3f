//! A browser without JavaScript for page tests: keeps cookies, does not follow redirects.

use std::collections::HashMap;

use reqwest::StatusCode;

use super::TestApp;

pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
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
        }
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
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            html: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.take(res).await
    }

    pub fn csrf(&self) -> String {
        self.cookies.get("borgertun_csrf").cloned().expect("a CSRF cookie")
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
    }
}
