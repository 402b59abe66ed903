//! Cluster management: `GET/POST /api/clusters`, `GET/PUT/DELETE /api/clusters/{id}` and
//! `POST /api/clusters/{id}/test`.
//!
//! Request bodies are never logged (they may hold a password); only ids and names are.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rockscope_store::{ClusterUpdate, NewCluster};
use serde_json::Value;

use crate::ApiState;
use crate::dto::{
    ClusterDto, CreateClusterRequest, JsonObject, TestResultDto, UpdateClusterRequest,
};
use crate::error::{ApiError, blocking};
use crate::params::NoQuery;

/// The allowed range of the timeout overrides, s.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=300;

/// The longest cluster name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The longest user name, in characters (StarRocks' own limit is lower).
pub const MAX_USERNAME_CHARS: usize = 128;

/// The most FE entry points of a cluster.
pub const MAX_FE_HOSTS: usize = 64;

/// `GET /api/clusters`: every registered cluster, by id.
pub(crate) async fn list(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let clusters = blocking(move || Ok(store.list_clusters()?)).await?;
    let shard = state.status.shard();
    let body: Vec<ClusterDto> = clusters.iter().map(|c| ClusterDto::new(c, shard)).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/clusters`: `201 Created` with the cluster and its `Location`.
pub(crate) async fn create(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<CreateClusterRequest>>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner().0;
    let name = validate_name(&req.name)?;
    validate_hosts(&req.fe_hosts)?;
    validate_username(&req.username)?;
    validate_timeout("connect_timeout_secs", req.connect_timeout_secs)?;
    validate_timeout("request_timeout_secs", req.request_timeout_secs)?;
    let new = NewCluster {
        name,
        fe_hosts: trimmed(&req.fe_hosts),
        username: req.username.trim().to_owned(),
        password: req.password,
        connect_timeout_secs: req.connect_timeout_secs,
        request_timeout_secs: req.request_timeout_secs,
        enabled: req.enabled,
    };
    let store = state.store.clone();
    let cluster = blocking(move || Ok(store.create_cluster(&new)?)).await?;
    log::info!("api: registered cluster {} `{}`", cluster.id, cluster.name);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/clusters/{}", cluster.id)))
        .json(ClusterDto::new(&cluster, state.status.shard())))
}

/// `GET /api/clusters/{id}`.
pub(crate) async fn get(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let store = state.store.clone();
    let cluster = blocking(move || Ok(store.get_cluster(id)?)).await?;
    Ok(HttpResponse::Ok().json(ClusterDto::new(&cluster, state.status.shard())))
}

/// `PUT /api/clusters/{id}`: a partial update; the collector picks it up at its next cycle.
pub(crate) async fn update(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<UpdateClusterRequest>>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let req = body.into_inner().0;
    let name = req.name.as_deref().map(validate_name).transpose()?;
    if let Some(hosts) = &req.fe_hosts {
        validate_hosts(hosts)?;
    }
    if let Some(username) = &req.username {
        validate_username(username)?;
    }
    validate_timeout("connect_timeout_secs", req.connect_timeout_secs.flatten())?;
    validate_timeout("request_timeout_secs", req.request_timeout_secs.flatten())?;
    let update = ClusterUpdate {
        name,
        fe_hosts: req.fe_hosts.as_deref().map(trimmed),
        username: req.username.map(|u| u.trim().to_owned()),
        password: req.password,
        connect_timeout_secs: req.connect_timeout_secs,
        request_timeout_secs: req.request_timeout_secs,
        enabled: req.enabled,
    };
    let store = state.store.clone();
    let cluster = blocking(move || Ok(store.update_cluster(id, &update)?)).await?;
    log::info!("api: updated cluster {} `{}`", cluster.id, cluster.name);
    Ok(HttpResponse::Ok().json(ClusterDto::new(&cluster, state.status.shard())))
}

/// `DELETE /api/clusters/{id}`: the cluster and all its data; `204 No Content`.
pub(crate) async fn delete(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let store = state.store.clone();
    blocking(move || Ok(store.delete_cluster(id)?)).await?;
    log::info!("api: deleted cluster {id}");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/clusters/{id}/test`: probe the cluster's endpoints now (on the blocking pool).
pub(crate) async fn test(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let store = state.store.clone();
    let tester = state.tester.clone();
    let (cluster, result) = blocking(move || {
        let cluster = store.get_cluster(id)?;
        let mut result = tester.test(&cluster);
        // Defence in depth: whatever the tester reports, the password does not leave.
        mask_secret(&mut result, cluster.password.expose());
        Ok((cluster, result))
    })
    .await?;
    Ok(HttpResponse::Ok().json(TestResultDto {
        cluster_id: cluster.id,
        cluster_name: cluster.name,
        result,
    }))
}

/// Replaces every occurrence of `secret` in the strings of `value` (keys included) by `***`.
pub(crate) fn mask_secret(value: &mut Value, secret: &str) {
    if secret.is_empty() {
        return;
    }
    match value {
        Value::String(s) if s.contains(secret) => *s = s.replace(secret, "***"),
        Value::Array(items) => items.iter_mut().for_each(|v| mask_secret(v, secret)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                mask_secret(&mut v, secret);
                map.insert(key.replace(secret, "***"), v);
            }
        }
        _ => {}
    }
}

/// The API's rules for a cluster's name, FE entry points and user, for clusters declared
/// elsewhere (the configuration file), so that both ways to register one accept the same: what
/// is wrong, as the API would say it.
pub fn check_cluster_fields(name: &str, fe_hosts: &[String], username: &str) -> Result<(), String> {
    validate_name(name)
        .and_then(|_| validate_hosts(fe_hosts))
        .and_then(|()| validate_username(username))
        .map_err(|e| e.message())
}

fn trimmed(hosts: &[String]) -> Vec<String> {
    hosts.iter().map(|h| h.trim().to_owned()).collect()
}

fn validate_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(is_hidden) {
        return Err(ApiError::InvalidParameter(format!(
            "name must be non-empty, at most {MAX_NAME_CHARS} characters, without control, \
             bidi-override or zero-width characters"
        )));
    }
    Ok(name.to_owned())
}

fn validate_username(username: &str) -> Result<(), ApiError> {
    let username = username.trim();
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_CHARS
        || username.chars().any(is_hidden)
    {
        return Err(ApiError::InvalidParameter(format!(
            "username must be non-empty, at most {MAX_USERNAME_CHARS} characters, without \
             control, bidi-override or zero-width characters"
        )));
    }
    Ok(())
}

/// A character that is invisible or reorders text around it: control characters, the bidi
/// embeddings, overrides, isolates and marks, and the zero-width ones. In a name it would make
/// two clusters look alike or a list read differently than it is.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061C}'
                | '\u{00AD}'
                | '\u{FEFF}'
        )
}

fn validate_timeout(name: &str, value: Option<u32>) -> Result<(), ApiError> {
    match value {
        Some(v) if !TIMEOUT_RANGE.contains(&v) => Err(ApiError::InvalidParameter(format!(
            "{name} must be from {} to {} seconds (or null for the default)",
            TIMEOUT_RANGE.start(),
            TIMEOUT_RANGE.end()
        ))),
        _ => Ok(()),
    }
}

fn validate_hosts(hosts: &[String]) -> Result<(), ApiError> {
    if hosts.is_empty() || hosts.len() > MAX_FE_HOSTS {
        return Err(ApiError::InvalidParameter(format!(
            "fe_hosts must list 1 to {MAX_FE_HOSTS} FE addresses as host:port"
        )));
    }
    for (i, host) in hosts.iter().enumerate() {
        if !is_host_port(host.trim()) {
            return Err(ApiError::InvalidParameter(format!(
                "fe_hosts[{i}] must be host:port with a port from 1 to 65535, e.g. \
                 10.0.0.1:8030 or [::1]:8030"
            )));
        }
        let same = |other: &String| other.trim().eq_ignore_ascii_case(host.trim());
        if let Some(first) = hosts[..i].iter().position(same) {
            return Err(ApiError::InvalidParameter(format!(
                "fe_hosts[{i}] repeats fe_hosts[{first}]; list each FE once"
            )));
        }
    }
    Ok(())
}

/// `host:port` with a plain host name / IPv4 address or a bracketed IPv6 address.
fn is_host_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let port_ok = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0);
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    };
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn host_port_forms() {
        for good in [
            "10.0.0.1:8030",
            "fe-1.example.com:8030",
            "[::1]:8030",
            "localhost:1",
        ] {
            assert!(is_host_port(good), "{good}");
        }
        for bad in [
            "10.0.0.1",
            "10.0.0.1:",
            ":8030",
            "10.0.0.1:0",
            "10.0.0.1:70000",
            "http://fe:8030",
            "fe 1:8030",
            "::1:8030",
            "[::1:8030",
            "fe:+80",
        ] {
            assert!(!is_host_port(bad), "{bad}");
        }
    }

    #[test]
    fn validation_messages_name_the_field() {
        assert!(
            validate_name("  ")
                .unwrap_err()
                .message()
                .starts_with("name")
        );
        assert_eq!(validate_name(" prod ").unwrap(), "prod");
        assert!(
            validate_hosts(&[])
                .unwrap_err()
                .message()
                .starts_with("fe_hosts")
        );
        let err = validate_hosts(&["a:1".into(), "b".into()]).unwrap_err();
        assert!(err.message().starts_with("fe_hosts[1]"));
        assert!(validate_timeout("connect_timeout_secs", Some(0)).is_err());
        assert!(validate_timeout("connect_timeout_secs", Some(301)).is_err());
        assert!(validate_timeout("connect_timeout_secs", Some(300)).is_ok());
        assert!(validate_timeout("connect_timeout_secs", None).is_ok());
    }

    #[test]
    fn secrets_are_masked_everywhere_in_a_value() {
        let mut v = json!({"pw-s3cr3t": ["login with s3cr3t failed", 3], "ok": "fine"});
        mask_secret(&mut v, "s3cr3t");
        assert_eq!(
            v,
            json!({"pw-***": ["login with *** failed", 3], "ok": "fine"})
        );
        let mut same = json!("x");
        mask_secret(&mut same, "");
        assert_eq!(same, json!("x"));
    }
}
