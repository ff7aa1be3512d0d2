//! The published AWS SigV4 test suite (`tests/vectors/`) and the S3 presigned-URL example of
//! the AWS documentation, run against [`Signer`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

/// 2015-08-30T12:36:00Z, the time of every vector in the suite.
const SUITE_TIME: u64 = 1_440_938_160;

/// One parsed `request.txt`.
struct SuiteRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

/// `METHOD PATH HTTP/1.1`, `Name:value` lines, a blank line, the body.
fn parse_request(text: &str) -> SuiteRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let method = request_line.split(' ').next().unwrap().to_owned();
    let path = request_line
        .strip_prefix(&format!("{method} "))
        .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
        .unwrap();
    let mut host = String::new();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("host") {
            host = value.to_owned();
        }
        headers.push((name.to_owned(), value.to_owned()));
    }
    SuiteRequest {
        method,
        url: format!("https://{host}{path}"),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

struct Context {
    signer: Signer,
    options: Options,
    expires: Duration,
}

fn context(dir: &Path) -> Context {
    let json: serde_json::Value = serde_json::from_str(&read(dir, "context.json")).unwrap();
    assert_eq!(json["timestamp"], "2015-08-30T12:36:00Z");
    let text = |field: &serde_json::Value| field.as_str().unwrap().to_owned();
    Context {
        signer: Signer {
            access_key: text(&json["credentials"]["access_key_id"]),
            secret_key: text(&json["credentials"]["secret_access_key"]),
            region: text(&json["region"]),
            service: text(&json["service"]),
        },
        options: Options {
            normalize_path: json["normalize"].as_bool().unwrap(),
            double_encode: true,
            content_sha256_header: json["sign_body"].as_bool().unwrap_or(false),
        },
        expires: Duration::from_secs(json["expiration_in_seconds"].as_u64().unwrap()),
    }
}

/// The value of `name` in the header block of a signed request file.
fn signed_header(text: &str, name: &str) -> Option<String> {
    text.split("\n\n").next().unwrap().lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.to_owned())
    })
}

/// The query parameters of the request line of a signed request file, decoded.
fn signed_query(text: &str) -> Vec<(String, String)> {
    let line = text.lines().next().unwrap();
    let target = line.split(' ').nth(1).unwrap();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut pairs = nave_sdk::http::query_pairs(query);
    pairs.sort();
    pairs
}

fn run_vector(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let ctx = context(dir);
    let request = parse_request(&read(dir, "request.txt"));
    let time = UNIX_EPOCH + Duration::from_secs(SUITE_TIME);
    let payload = Payload::Bytes(&request.body);

    let added = ctx
        .signer
        .sign_headers(
            Unsigned {
                method: &request.method,
                url: &request.url,
                headers: &request.headers,
                payload: payload.clone(),
            },
            time,
            ctx.options,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected = read(dir, "header-signed-request.txt");
    let authorization = added
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone());
    assert_eq!(
        authorization,
        signed_header(&expected, "authorization"),
        "{name}: authorization header"
    );
    assert!(
        authorization
            .unwrap()
            .ends_with(read(dir, "header-signature.txt").trim()),
        "{name}: header signature"
    );
    for (header, value) in &added {
        assert_eq!(
            Some(value.clone()),
            signed_header(&expected, header),
            "{name}: {header}"
        );
    }

    let url = ctx
        .signer
        .presign(
            Unsigned {
                method: &request.method,
                url: &request.url,
                headers: &request.headers,
                payload,
            },
            time,
            ctx.expires,
            ctx.options,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected = read(dir, "query-signed-request.txt");
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut ours = nave_sdk::http::query_pairs(query);
    ours.sort();
    assert_eq!(ours, signed_query(&expected), "{name}: presigned query");
    let signature = ours.iter().find(|(n, _)| n == "X-Amz-Signature").unwrap();
    assert_eq!(
        signature.1,
        read(dir, "query-signature.txt").trim(),
        "{name}: query signature"
    );
}

#[test]
fn the_published_aws_sigv4_test_suite_passes() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "only {} vectors found", dirs.len());
    for dir in &dirs {
        run_vector(dir);
    }
    // Path normalization and query ordering are among them.
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for needed in [
        "get-relative-relative-normalized",
        "get-slash-dot-slash-unnormalized",
        "get-vanilla-query-order-key-case",
        "get-vanilla-query-unreserved",
        "post-x-www-form-urlencoded-parameters",
    ] {
        assert!(names.iter().any(|n| n == needed), "{needed} is missing");
    }
}

#[test]
fn the_aws_documentation_presigned_url_example_matches() {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    let signer = Signer {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "s3".into(),
    };
    // 2013-05-24T00:00:00Z
    let time = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
    let url = signer
        .presign(
            Unsigned {
                method: "GET",
                url: "https://examplebucket.s3.amazonaws.com/test.txt",
                headers: &[],
                payload: Payload::Unsigned,
            },
            time,
            Duration::from_secs(86_400),
            Options::s3(),
        )
        .unwrap();
    assert_eq!(
        url,
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
}

#[test]
fn s3_header_signing_sends_the_payload_hash() {
    let signer = Signer {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "s3".into(),
    };
    // The AWS documentation's GET Object example (a `range` header, an empty body):
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    let time = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
    let headers = signer
        .sign_headers(
            Unsigned {
                method: "GET",
                url: "https://examplebucket.s3.amazonaws.com/test.txt",
                headers: &[("range".into(), "bytes=0-9".into())],
                payload: Payload::Bytes(b""),
            },
            time,
            Options::s3(),
        )
        .unwrap();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("x-amz-content-sha256"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(get("x-amz-date"), Some("20130524T000000Z"));
    assert_eq!(
        get("authorization"),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    );
}

#[test]
fn a_malformed_url_is_a_sign_error() {
    let signer = Signer {
        access_key: "a".into(),
        secret_key: "b".into(),
        region: "us-east-1".into(),
        service: "s3".into(),
    };
    let result = signer.sign_headers(
        Unsigned {
            method: "GET",
            url: "http://exa mple/",
            headers: &[],
            payload: Payload::Unsigned,
        },
        SystemTime::now(),
        Options::s3(),
    );
    assert!(result.is_err());
}
