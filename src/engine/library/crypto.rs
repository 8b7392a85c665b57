//! sprig's crypto and random functions for Go templates: certificates (`genCA`,
//! `genSelfSignedCert`, `genSignedCert` and the `…WithKey` forms, `buildCustomCert`,
//! `genPrivateKey`, sharing the tera engine's implementation), `encryptAES`/`decryptAES`
//! (AES-256-CBC as sprig does it), `bcrypt` and `htpasswd` (`$2a$`, cost 10),
//! `derivePassword` (Master Password: scrypt + HMAC-SHA256) and `uuidv4` (`randInt` and
//! `randBytes` are in `strings.rs`). Blowfish's tables are the hex digits of π, computed once at first use.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::Engine as _;
use rand::RngCore as _;

use super::super::CallError;
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use super::super::certs::{CertRequest, custom_cert, private_key, self_signed_cert, signed_cert};
use super::super::value::{Object, Value};
use super::super::{FnResult, Funcs, arg_int, arg_str, wrong_type};

pub fn register(f: &mut Funcs) {
    f.add("genCA", 2, |a| {
        let cn = arg_str(&a[0])?;
        let days = arg_int(&a[1])?;
        self_signed("genCA", &cn, &Value::Nil, &Value::Nil, days, None, true)
    });
    f.add("genCAWithKey", 3, |a| {
        let cn = arg_str(&a[0])?;
        let days = arg_int(&a[1])?;
        let key = arg_str(&a[2])?;
        self_signed(
            "genCAWithKey",
            &cn,
            &Value::Nil,
            &Value::Nil,
            days,
            Some(&key),
            true,
        )
    });
    f.add("genSelfSignedCert", 4, |a| {
        let cn = arg_str(&a[0])?;
        let days = arg_int(&a[3])?;
        self_signed("genSelfSignedCert", &cn, &a[1], &a[2], days, None, false)
    });
    f.add("genSelfSignedCertWithKey", 5, |a| {
        let cn = arg_str(&a[0])?;
        let days = arg_int(&a[3])?;
        let key = arg_str(&a[4])?;
        self_signed(
            "genSelfSignedCertWithKey",
            &cn,
            &a[1],
            &a[2],
            days,
            Some(&key),
            false,
        )
    });
    f.add("genSignedCert", 5, |a| {
        let cn = arg_str(&a[0])?;
        let days = arg_int(&a[3])?;
        signed("genSignedCert", &cn, &a[1], &a[2], days, &a[4], None)
    });
    f.add("genSignedCertWithKey", 6, |a| {
        let cn = arg_str(&a[0])?;
        let days = arg_int(&a[3])?;
        let key = arg_str(&a[5])?;
        signed(
            "genSignedCertWithKey",
            &cn,
            &a[1],
            &a[2],
            days,
            &a[4],
            Some(&key),
        )
    });
    f.add("buildCustomCert", 2, |a| {
        let cert = arg_str(&a[0])?;
        let key = arg_str(&a[1])?;
        let (cert, key) = custom_cert(&cert, &key).map_err(CallError::from)?;
        Ok(cert_value(cert, key))
    });
    f.add("genPrivateKey", 1, |a| {
        let kind = arg_str(&a[0])?;
        Ok(Value::from(match &*kind {
            "" | "rsa" | "ecdsa" | "ed25519" => {
                let kind = if kind.is_empty() { "rsa" } else { &kind };
                private_key(kind).unwrap_or_else(|e| format!("failed to generate private key: {e}"))
            }
            "dsa" => "failed to generate private key: DSA keys are not supported".to_string(),
            other => format!("Unknown type {other}"),
        }))
    });
    f.add("encryptAES", 2, |a| {
        let password = arg_str(&a[0])?;
        let text = arg_str(&a[1])?;
        encrypt_aes(&password, &text).map(Value::from)
    });
    f.add("decryptAES", 2, |a| {
        let password = arg_str(&a[0])?;
        let text = arg_str(&a[1])?;
        decrypt_aes(&password, &text).map(Value::from)
    });
    f.add("bcrypt", 1, |a| Ok(Value::from(bcrypt(&arg_str(&a[0])?))));
    f.add("htpasswd", 2, |a| {
        let user = arg_str(&a[0])?;
        let password = arg_str(&a[1])?;
        Ok(Value::from(if user.contains(':') {
            format!("invalid username: {user}")
        } else {
            format!("{user}:{}", bcrypt(&password))
        }))
    });
    f.add("derivePassword", 5, |a| {
        let counter = match &a[0] {
            Value::Int(n) if (0..=u32::MAX as i64).contains(n) => *n as u32,
            Value::Nil => {
                return Err(CallError::from(
                    "invalid value; expected uint32".to_string(),
                ));
            }
            other => return Err(wrong_type("uint32", other)),
        };
        let kind = arg_str(&a[1])?;
        let password = arg_str(&a[2])?;
        let user = arg_str(&a[3])?;
        let site = arg_str(&a[4])?;
        Ok(Value::from(derive_password(
            counter, &kind, &password, &user, &site,
        )))
    });
    f.add("uuidv4", 0, |_| Ok(Value::from(uuidv4())));
}

// ---- certificates ----

/// The `certificate` sprig returns: `Cert` and `Key` PEM texts.
fn cert_value(cert: String, key: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Cert".to_string(), Value::from(cert));
    m.insert("Key".to_string(), Value::from(key));
    Value::from(m)
}

/// A `[]interface{}` of strings (`nil` is empty), with sprig's complaints.
fn string_items(v: &Value, bad: impl Fn(&Value) -> String) -> Result<Vec<String>, CallError> {
    let items = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::List(items) => items.clone(),
        other => return Err(wrong_type("[]interface {}", other)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(CallError::from(bad(other))),
        })
        .collect()
}

/// The IP addresses and DNS names of a certificate, checked as sprig checks them.
fn sans(ips: &Value, names: &Value) -> Result<(Vec<String>, Vec<String>), CallError> {
    let ips = string_items(ips, |v| {
        format!("error parsing ip: {} is not a string", v.go_string())
    })?;
    for ip in &ips {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(CallError::from(format!("error parsing ip: {ip}")));
        }
    }
    let names = string_items(names, |v| {
        format!(
            "error processing alternate dns name: {} is not a string",
            v.go_string()
        )
    })?;
    Ok((ips, names))
}

fn self_signed(
    func: &str,
    cn: &str,
    ips: &Value,
    names: &Value,
    days: i64,
    key: Option<&str>,
    is_ca: bool,
) -> FnResult {
    let (ips, names) = sans(ips, names)?;
    if key.is_none() {
        // Generating a key pair is the slow part, and charts often make a certificate they
        // only use under some condition: make it when it is first looked at.
        let (func, cn) = (func.to_string(), cn.to_string());
        return Ok(Value::Object(Rc::new(LazyCert {
            make: RefCell::new(Some(Box::new(move || {
                let req = CertRequest {
                    cn: &cn,
                    ips: &ips,
                    names: &names,
                    days,
                };
                self_signed_cert(&func, &req, None, is_ca)
            }))),
            made: OnceCell::new(),
        })));
    }
    let req = CertRequest {
        cn,
        ips: &ips,
        names: &names,
        days,
    };
    let (cert, key) = self_signed_cert(func, &req, key, is_ca).map_err(CallError::from)?;
    Ok(cert_value(cert, key))
}

type MakeCert = Box<dyn FnOnce() -> Result<(String, String), String>>;

/// A generated certificate made on first use (`Cert`, `Key`, printing, passing it on).
struct LazyCert {
    make: RefCell<Option<MakeCert>>,
    made: OnceCell<Value>,
}

impl LazyCert {
    fn value(&self) -> &Value {
        self.made.get_or_init(|| {
            let make = self.make.borrow_mut().take();
            match make.map(|make| make()) {
                Some(Ok((cert, key))) => cert_value(cert, key),
                Some(Err(e)) => cert_value(
                    format!("failed to generate certificate: {e}"),
                    String::new(),
                ),
                None => cert_value(String::new(), String::new()),
            }
        })
    }
}

impl Object for LazyCert {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match self.value() {
            Value::Map(m) => m.borrow().get(name).cloned(),
            _ => None,
        }
    }
    fn display(&self) -> String {
        let part = |k| self.field(k).map(|v| v.go_string()).unwrap_or_default();
        format!("{{{} {}}}", part("Cert"), part("Key"))
    }
    fn as_data(&self) -> Value {
        self.value().clone()
    }
}

fn signed(
    func: &str,
    cn: &str,
    ips: &Value,
    names: &Value,
    days: i64,
    ca: &Value,
    key: Option<&str>,
) -> FnResult {
    let part = |m: &BTreeMap<String, Value>, k: &str| match m.get(k) {
        Some(Value::Str(s)) => Some(s.to_string()),
        _ => None,
    };
    let ca = &ca.data();
    let (ca_cert, ca_key) = match ca {
        Value::Map(m) => {
            let m = m.borrow();
            match (part(&m, "Cert"), part(&m, "Key")) {
                (Some(c), Some(k)) => (c, k),
                _ => return Err(wrong_type("sprig.certificate", ca)),
            }
        }
        Value::Nil => {
            return Err(CallError::from(
                "invalid value; expected sprig.certificate".to_string(),
            ));
        }
        other => return Err(wrong_type("sprig.certificate", other)),
    };
    let (ips, names) = sans(ips, names)?;
    let req = CertRequest {
        cn,
        ips: &ips,
        names: &names,
        days,
    };
    let (cert, key) = signed_cert(func, &req, &ca_cert, &ca_key, key).map_err(CallError::from)?;
    Ok(cert_value(cert, key))
}

// ---- AES ----

/// sprig's key: the password's bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> Result<aws_lc_rs::cipher::UnboundCipherKey, CallError> {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aws_lc_rs::cipher::UnboundCipherKey::new(&aws_lc_rs::cipher::AES_256, &key)
        .map_err(|_| CallError::from("crypto/aes: invalid key"))
}

/// AES-256-CBC with PKCS#7 padding and a random IV in front, base64-encoded.
fn encrypt_aes(password: &str, text: &str) -> Result<String, CallError> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let key = aws_lc_rs::cipher::EncryptingKey::cbc(aes_key(password)?)
        .map_err(|_| CallError::from("crypto/aes: invalid key"))?;
    let mut data = text.as_bytes().to_vec();
    let pad = 16 - data.len() % 16;
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let ctx = key
        .encrypt(&mut data)
        .map_err(|_| CallError::from("crypto/cipher: encryption failed"))?;
    let iv: &[u8] = (&ctx)
        .try_into()
        .map_err(|_| CallError::from("crypto/cipher: no IV"))?;
    let mut out = iv.to_vec();
    out.extend_from_slice(&data);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// sprig's `decryptAES`: the padding length is the last byte, unchecked; Go's panics for
/// short input become errors.
fn decrypt_aes(password: &str, text: &str) -> Result<String, CallError> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| CallError::from(go_base64_error(text, &e)))?;
    if data.len() < 16 {
        return Err(CallError::from(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            data.len()
        )));
    }
    let (iv, body) = data.split_at(16);
    if body.len() % 16 != 0 {
        return Err(CallError::from("crypto/cipher: input not full blocks"));
    }
    if body.is_empty() {
        return Err(CallError::from(
            "runtime error: index out of range [-1]".to_string(),
        ));
    }
    let key = aws_lc_rs::cipher::DecryptingKey::cbc(aes_key(password)?)
        .map_err(|_| CallError::from("crypto/aes: invalid key"))?;
    let mut buf = body.to_vec();
    let iv: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let ctx = aws_lc_rs::cipher::DecryptionContext::Iv128(aws_lc_rs::iv::FixedLength::from(iv));
    let plain = key
        .decrypt(&mut buf, ctx)
        .map_err(|_| CallError::from("crypto/cipher: decryption failed"))?;
    let pad = *plain.last().unwrap_or(&0) as usize;
    if pad > plain.len() {
        return Err(CallError::from(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        )));
    }
    Ok(String::from_utf8_lossy(&plain[..plain.len() - pad]).into_owned())
}

/// Go's `base64.CorruptInputError` text.
fn go_base64_error(text: &str, e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(i, _) => *i,
        base64::DecodeError::InvalidLastSymbol(i, _) => *i,
        _ => text.len() - text.len() % 4,
    };
    format!("illegal base64 data at input byte {at}")
}

// ---- uuid ----

fn uuidv4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// ---- Blowfish and bcrypt ----

/// The 18 P-array words and 4×256 S-box words of Blowfish: π's fraction in hex.
fn pi_words() -> &'static [u32] {
    static WORDS: OnceLock<Vec<u32>> = OnceLock::new();
    WORDS.get_or_init(|| {
        const NEED: usize = 18 + 1024;
        let n = NEED + 8;
        // Fixed point: word 0 is the integer part, words 1.. the fraction (big-endian).
        let div = |a: &mut [u32], d: u32| {
            let mut rem = 0u64;
            for w in a.iter_mut() {
                let cur = (rem << 32) | *w as u64;
                *w = (cur / d as u64) as u32;
                rem = cur % d as u64;
            }
        };
        let add = |a: &mut [u32], b: &[u32]| {
            let mut carry = 0u64;
            for i in (0..a.len()).rev() {
                let s = a[i] as u64 + b[i] as u64 + carry;
                a[i] = s as u32;
                carry = s >> 32;
            }
        };
        let sub = |a: &mut [u32], b: &[u32]| {
            let mut borrow = 0i64;
            for i in (0..a.len()).rev() {
                let s = a[i] as i64 - b[i] as i64 - borrow;
                a[i] = s.rem_euclid(1 << 32) as u32;
                borrow = i64::from(s < 0);
            }
        };
        let mul = |a: &mut [u32], m: u32| {
            let mut carry = 0u64;
            for i in (0..a.len()).rev() {
                let p = a[i] as u64 * m as u64 + carry;
                a[i] = p as u32;
                carry = p >> 32;
            }
        };
        // atan(1/x) = Σ (-1)^k / ((2k+1) x^(2k+1))
        let atan_inv = |x: u32| {
            let mut power = vec![0u32; n];
            power[0] = 1;
            div(&mut power, x);
            let mut sum = power.clone();
            let mut term = vec![0u32; n];
            let mut k = 1u32;
            while power.iter().any(|&w| w != 0) {
                div(&mut power, x * x);
                term.copy_from_slice(&power);
                div(&mut term, 2 * k + 1);
                if k % 2 == 1 {
                    sub(&mut sum, &term);
                } else {
                    add(&mut sum, &term);
                }
                k += 1;
            }
            sum
        };
        let mut pi = atan_inv(5);
        mul(&mut pi, 16);
        let mut b = atan_inv(239);
        mul(&mut b, 4);
        sub(&mut pi, &b);
        pi[1..=NEED].to_vec()
    })
}

struct Blowfish {
    p: [u32; 18],
    s: [[u32; 256]; 4],
}

impl Blowfish {
    fn new() -> Blowfish {
        let w = pi_words();
        let mut p = [0u32; 18];
        p.copy_from_slice(&w[..18]);
        let mut s = [[0u32; 256]; 4];
        for (k, sbox) in s.iter_mut().enumerate() {
            sbox.copy_from_slice(&w[18 + 256 * k..18 + 256 * (k + 1)]);
        }
        Blowfish { p, s }
    }

    fn f(&self, x: u32) -> u32 {
        (self.s[0][(x >> 24) as usize].wrapping_add(self.s[1][(x >> 16 & 0xff) as usize])
            ^ self.s[2][(x >> 8 & 0xff) as usize])
            .wrapping_add(self.s[3][(x & 0xff) as usize])
    }

    fn encrypt(&self, l: u32, r: u32) -> (u32, u32) {
        let (mut xl, mut xr) = (l ^ self.p[0], r);
        for i in (1..=16).step_by(2) {
            xr ^= self.f(xl) ^ self.p[i];
            xl ^= self.f(xr) ^ self.p[i + 1];
        }
        xr ^= self.p[17];
        (xr, xl)
    }

    /// Fills P and the S-boxes by encrypting a running block, each time XORed with the
    /// next words of `salt` (none for plain `ExpandKey`).
    fn expand(&mut self, key: &[u8], salt: Option<&[u8]>) {
        let next = |data: &[u8], j: &mut usize| {
            let mut w = 0u32;
            for _ in 0..4 {
                w = w << 8 | data[*j] as u32;
                *j = (*j + 1) % data.len();
            }
            w
        };
        let mut j = 0;
        for i in 0..18 {
            self.p[i] ^= next(key, &mut j);
        }
        let (mut l, mut r) = (0u32, 0u32);
        let mut sj = 0;
        let mut step = |bf: &Blowfish, l: &mut u32, r: &mut u32| {
            if let Some(salt) = salt {
                *l ^= next(salt, &mut sj);
                *r ^= next(salt, &mut sj);
            }
            (*l, *r) = bf.encrypt(*l, *r);
        };
        for i in (0..18).step_by(2) {
            step(self, &mut l, &mut r);
            self.p[i] = l;
            self.p[i + 1] = r;
        }
        for k in 0..4 {
            for i in (0..256).step_by(2) {
                step(self, &mut l, &mut r);
                self.s[k][i] = l;
                self.s[k][i + 1] = r;
            }
        }
    }
}

const BCRYPT_ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// bcrypt's base64 (its own alphabet, no padding).
fn bcrypt_b64(data: &[u8]) -> String {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::Alphabet::new(std::str::from_utf8(BCRYPT_ALPHABET).unwrap_or_default())
            .unwrap_or(base64::alphabet::STANDARD),
        base64::engine::general_purpose::NO_PAD,
    );
    engine.encode(data)
}

/// The bcrypt hash of `password` with `salt` at `cost`: `$2a$10$` + salt + hash.
fn bcrypt_with(password: &[u8], salt: &[u8; 16], cost: u32) -> String {
    let mut key = password.to_vec();
    key.push(0);
    let mut bf = Blowfish::new();
    bf.expand(&key, Some(salt));
    for _ in 0..1u64 << cost {
        bf.expand(&key, None);
        bf.expand(salt, None);
    }
    let mut data = *b"OrpheanBeholderScryDoubt";
    for chunk in data.chunks_mut(8) {
        let mut l = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut r = u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        for _ in 0..64 {
            (l, r) = bf.encrypt(l, r);
        }
        chunk[..4].copy_from_slice(&l.to_be_bytes());
        chunk[4..].copy_from_slice(&r.to_be_bytes());
    }
    format!(
        "$2a${cost:02}${}{}",
        bcrypt_b64(salt),
        bcrypt_b64(&data[..23])
    )
}

/// sprig's `bcrypt`: cost 10 and a random salt; Go refuses passwords over 72 bytes.
fn bcrypt(password: &str) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .to_string();
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    bcrypt_with(password.as_bytes(), &salt, 10)
}

// ---- scrypt and derivePassword ----

fn salsa20_8(b: &mut [u32; 16]) {
    let mut x = *b;
    let q = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
        x[b] ^= x[a].wrapping_add(x[d]).rotate_left(7);
        x[c] ^= x[b].wrapping_add(x[a]).rotate_left(9);
        x[d] ^= x[c].wrapping_add(x[b]).rotate_left(13);
        x[a] ^= x[d].wrapping_add(x[c]).rotate_left(18);
    };
    for _ in 0..4 {
        q(&mut x, 0, 4, 8, 12);
        q(&mut x, 5, 9, 13, 1);
        q(&mut x, 10, 14, 2, 6);
        q(&mut x, 15, 3, 7, 11);
        q(&mut x, 0, 1, 2, 3);
        q(&mut x, 5, 6, 7, 4);
        q(&mut x, 10, 11, 8, 9);
        q(&mut x, 15, 12, 13, 14);
    }
    for i in 0..16 {
        b[i] = b[i].wrapping_add(x[i]);
    }
}

/// scrypt's BlockMix over `2r` 16-word blocks.
fn block_mix(input: &[u32], out: &mut [u32], r: usize) {
    let mut x = [0u32; 16];
    x.copy_from_slice(&input[(2 * r - 1) * 16..]);
    for i in 0..2 * r {
        for k in 0..16 {
            x[k] ^= input[i * 16 + k];
        }
        salsa20_8(&mut x);
        let dst = if i % 2 == 0 { i / 2 } else { r + i / 2 };
        out[dst * 16..dst * 16 + 16].copy_from_slice(&x);
    }
}

fn pbkdf2_sha256(password: &[u8], salt: &[u8], out: &mut [u8]) {
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::MIN,
        salt,
        password,
        out,
    );
}

/// scrypt (RFC 7914).
fn scrypt(password: &[u8], salt: &[u8], n: usize, r: usize, p: usize, len: usize) -> Vec<u8> {
    let words = 32 * r;
    let mut b = vec![0u8; p * 128 * r];
    pbkdf2_sha256(password, salt, &mut b);
    let mut v = vec![0u32; n * words];
    for chunk in b.chunks_mut(128 * r) {
        let mut x: Vec<u32> = chunk
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut y = vec![0u32; words];
        for i in 0..n {
            v[i * words..(i + 1) * words].copy_from_slice(&x);
            block_mix(&x, &mut y, r);
            std::mem::swap(&mut x, &mut y);
        }
        for _ in 0..n {
            let j = x[(2 * r - 1) * 16] as usize & (n - 1);
            for k in 0..words {
                x[k] ^= v[j * words + k];
            }
            block_mix(&x, &mut y, r);
            std::mem::swap(&mut x, &mut y);
        }
        for (c, w) in chunk.chunks_mut(4).zip(&x) {
            c.copy_from_slice(&w.to_le_bytes());
        }
    }
    let mut out = vec![0u8; len];
    pbkdf2_sha256(password, &b, &mut out);
    out
}

/// The Master Password templates sprig's `derivePassword` knows.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// sprig's `derivePassword` (the Master Password algorithm).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let key = scrypt(password.as_bytes(), &salt, 32768, 8, 2, 64);
    let mut msg = SEED.to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let hkey = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let tag = aws_lc_rs::hmac::sign(&hkey, &msg);
    let seed = tag.as_ref();
    let template = templates[seed[0] as usize % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(c);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gotmpl::tests::render_plain as r;

    #[test]
    fn blowfish_tables_are_pi() {
        let w = pi_words();
        assert_eq!(w[0], 0x243F_6A88);
        assert_eq!(w[17], 0x8979_FB1B);
        assert_eq!(w[18], 0xD131_0BA6);
        assert_eq!(w[18 + 1023], 0x3AC3_72E6);
    }

    #[test]
    fn bcrypt_matches_openbsd() {
        // A known vector from OpenBSD's bcrypt tests ($2a$, cost 5, "U*U").
        let salt = base64::engine::GeneralPurpose::new(
            &base64::alphabet::Alphabet::new(std::str::from_utf8(BCRYPT_ALPHABET).unwrap())
                .unwrap(),
            base64::engine::general_purpose::NO_PAD.with_decode_allow_trailing_bits(true),
        )
        .decode("CCCCCCCCCCCCCCCCCCCCC.")
        .unwrap();
        let salt: [u8; 16] = salt.try_into().unwrap();
        assert_eq!(
            bcrypt_with(b"U*U", &salt, 5),
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
        );
        let h = r("{{ htpasswd \"user\" \"pw\" }}|{{ htpasswd \"a:b\" \"pw\" }}");
        assert!(
            h.starts_with("user:$2a$10$") && h.ends_with("|invalid username: a:b"),
            "{h}"
        );
    }

    #[test]
    fn aes_round_trips_and_reads_sprig_output() {
        assert_eq!(
            r("{{ encryptAES \"secret\" \"hello world\" | decryptAES \"secret\" }}"),
            "hello world"
        );
        assert_eq!(
            r("{{ encryptAES \"k\" \"\" }}|{{ decryptAES \"k\" \"\" }}"),
            "|"
        );
        // Encrypted by helm 4.1.4.
        assert_eq!(
            r("{{ decryptAES \"secretkey\" \"CpiWUSQZf0MP+nH3cdaTMVoinEZhyaG9T6XYc5E8dWs=\" }}"),
            "hello world"
        );
        assert!(
            r("{{ decryptAES \"k\" \"abc\" }}").ends_with("illegal base64 data at input byte 0")
        );
        assert!(
            r("{{ decryptAES \"k\" \"AAAA\" }}")
                .ends_with("runtime error: slice bounds out of range [:16] with capacity 3")
        );
    }

    /// Checked against helm 4.1.4.
    #[test]
    fn derive_password_like_sprig() {
        assert_eq!(
            r(
                "{{ derivePassword 1 \"long\" \"password\" \"user\" \"example.com\" }}|{{ derivePassword 3 \"pin\" \"pw\" \"u\" \"s\" }}|{{ derivePassword 1 \"nope\" \"a\" \"b\" \"c\" }}"
            ),
            "ZedaFaxcZaso9*|7979|cannot find password template nope"
        );
    }

    #[test]
    fn random_and_certificates() {
        let u = r("{{ uuidv4 }}");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(r("{{ genPrivateKey \"x\" }}"), "Unknown type x");
        let ca = r(
            "{{ $ca := genCA \"my-ca\" 365 }}{{ $c := genSignedCert \"svc\" (list \"10.0.0.1\") (list \"svc.local\") 30 $ca }}{{ $ca.Cert | len | lt 100 }} {{ hasPrefix \"-----BEGIN CERTIFICATE-----\" $c.Cert }} {{ hasPrefix \"-----BEGIN RSA PRIVATE KEY-----\" $c.Key }}",
        );
        assert!(ca.starts_with("true"), "{ca}");
        assert!(
            r("{{ genSelfSignedCert \"x\" (list \"nope\") nil 3 }}")
                .ends_with("error parsing ip: nope")
        );
    }
}
