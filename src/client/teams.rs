//! Client calls for teams, service tokens and team secrets (one method per endpoint, like
//! the rest of `ApiClient`).

use super::{ApiClient, ClientError, Method, percent_encode};
use crate::api::{
    AuditList, CreateTeam, CreateToken, MemberList, SecretList, SetMember, TeamInfo, TeamList,
    TokenCreated, TokenList,
};

impl ApiClient {
    /// `POST /teams`.
    pub fn create_team(&self, name: &str) -> Result<TeamInfo, ClientError> {
        let input = CreateTeam {
            name: name.to_string(),
        };
        let b = self.send(Method::Post, "/teams", Some(&input))?;
        self.decode(&b)
    }

    /// `GET /teams`.
    pub fn teams(&self) -> Result<TeamList, ClientError> {
        let b = self.send::<()>(Method::Get, "/teams", None)?;
        self.decode(&b)
    }

    /// `GET /teams/{team}/members`.
    pub fn team_members(&self, team: &str) -> Result<MemberList, ClientError> {
        let path = format!("/teams/{}/members", percent_encode(team));
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }

    /// `PUT /teams/{team}/members/{username}`.
    pub fn set_member(&self, team: &str, user: &str, role: &str) -> Result<(), ClientError> {
        let path = format!(
            "/teams/{}/members/{}",
            percent_encode(team),
            percent_encode(user)
        );
        let input = SetMember {
            role: role.to_string(),
        };
        self.send(Method::Put, &path, Some(&input)).map(drop)
    }

    /// `DELETE /teams/{team}/members/{username}`.
    pub fn remove_member(&self, team: &str, user: &str) -> Result<(), ClientError> {
        let path = format!(
            "/teams/{}/members/{}",
            percent_encode(team),
            percent_encode(user)
        );
        self.send::<()>(Method::Delete, &path, None).map(drop)
    }

    /// `DELETE /teams/{team}`.
    pub fn delete_team(&self, team: &str) -> Result<(), ClientError> {
        let path = format!("/teams/{}", percent_encode(team));
        self.send::<()>(Method::Delete, &path, None).map(drop)
    }

    /// `POST /tokens`.
    pub fn create_token(&self, input: &CreateToken) -> Result<TokenCreated, ClientError> {
        let b = zeroize::Zeroizing::new(self.send(Method::Post, "/tokens", Some(input))?);
        self.decode(&b)
    }

    /// `GET /tokens[?team=T]`.
    pub fn tokens(&self, team: Option<&str>) -> Result<TokenList, ClientError> {
        let path = match team {
            Some(t) => format!("/tokens?team={}", percent_encode(t)),
            None => "/tokens".to_string(),
        };
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }

    /// `DELETE /tokens/{id}`.
    pub fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        let path = format!("/tokens/{}", percent_encode(id));
        self.send::<()>(Method::Delete, &path, None).map(drop)
    }

    /// `GET /secrets?team=T`, optionally filtered by tag and/or exact name; `team` `None`
    /// is the caller's own secrets (a team token's: its team's).
    pub fn list_secrets_in(
        &self,
        team: Option<&str>,
        tag: Option<&str>,
        name: Option<&str>,
    ) -> Result<SecretList, ClientError> {
        let mut query = Vec::new();
        for (key, value) in [("team", team), ("tag", tag), ("name", name)] {
            if let Some(v) = value {
                query.push(format!("{key}={}", percent_encode(v)));
            }
        }
        let path = if query.is_empty() {
            "/secrets".to_string()
        } else {
            format!("/secrets?{}", query.join("&"))
        };
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }

    /// `GET /audit?team=T`: a team's trail (team admins).
    pub fn team_audit(
        &self,
        team: &str,
        limit: u32,
        before: Option<u64>,
    ) -> Result<AuditList, ClientError> {
        let mut path = format!("/audit?team={}&limit={limit}", percent_encode(team));
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        let b = self.send::<()>(Method::Get, &path, None)?;
        self.decode(&b)
    }
}
