//! `sha256` and `hmac_sha256` against published vectors (FIPS 180-2's "abc", RFC 4231's
//! test cases 1 and 2) in every encoding.

use arrow_array::{Array, BinaryArray, Int32Array, LargeStringArray, StringArray};

use super::{check, col, contains_all, invalid};
use crate::{Encoding, hmac_sha256, sha256};

const SHA256_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

#[test]
fn sha256_of_abc_in_every_encoding() {
    let a = col(StringArray::from(vec![Some("abc"), None, Some("")]));
    check(
        &sha256(&a, Encoding::Hex).unwrap(),
        &StringArray::from(vec![
            Some(SHA256_ABC),
            None,
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ]),
    );
    let b64 = sha256(&a.slice(0, 1), Encoding::Base64Url).unwrap();
    check(
        &b64,
        &StringArray::from(vec!["ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"]),
    );
    let raw = sha256(&a.slice(0, 2), Encoding::Raw).unwrap();
    let digest = hex::decode(SHA256_ABC).unwrap();
    check(
        &raw,
        &BinaryArray::from(vec![Some(digest.as_slice()), None]),
    );
}

#[test]
fn bytes_and_large_strings_hash_the_same() {
    let bytes = col(BinaryArray::from(vec![b"abc".as_slice()]));
    let large = col(LargeStringArray::from(vec!["abc"]));
    let expected = StringArray::from(vec![SHA256_ABC]);
    check(&sha256(&bytes, Encoding::Hex).unwrap(), &expected);
    check(&sha256(&large, Encoding::Hex).unwrap(), &expected);
}

#[test]
fn hmac_rfc_4231_test_cases_1_and_2() {
    let hi = col(StringArray::from(vec!["Hi There"]));
    check(
        &hmac_sha256(&hi, &[0x0b; 20], Encoding::Hex).unwrap(),
        &StringArray::from(vec![
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ]),
    );
    let jefe = col(StringArray::from(vec![
        Some("what do ya want for nothing?"),
        None,
    ]));
    check(
        &hmac_sha256(&jefe, b"Jefe", Encoding::Hex).unwrap(),
        &StringArray::from(vec![
            Some("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            None,
        ]),
    );
    let raw = hmac_sha256(&jefe, b"Jefe", Encoding::Raw).unwrap();
    assert_eq!(raw.len(), 2);
    assert_eq!(raw.null_count(), 1);
}

#[test]
fn refusals() {
    let ints = col(Int32Array::from(vec![1]));
    contains_all(
        &invalid(sha256(&ints, Encoding::Hex)),
        &["sha256", "Int32", "cast to Utf8"],
    );
    let a = col(StringArray::from(vec!["x"]));
    contains_all(
        &invalid(hmac_sha256(&a, b"", Encoding::Hex)),
        &["hmac_sha256", "the key is empty"],
    );
}
