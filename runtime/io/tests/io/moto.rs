//! The shared moto server (`quiver_tests::moto`) and quiver-io [`Storage`] pointed at it:
//! credentials and endpoint go to quiver-io as options, never through the process
//! environment.

use quiver_io::Storage;
use quiver_io::object_store::aws::AmazonS3ConfigKey;
pub use quiver_tests::moto::Moto;

/// Storage that talks to `moto` with dummy credentials over plain HTTP.
pub fn storage(moto: &Moto) -> Storage {
    storage_for(&moto.endpoint())
}

/// Storage for a moto server at `endpoint`.
pub fn storage_for(endpoint: &str) -> Storage {
    Storage::from_env()
        .with_s3(AmazonS3ConfigKey::Endpoint, endpoint)
        .with_s3(
            AmazonS3ConfigKey::Client(quiver_io::object_store::ClientConfigKey::AllowHttp),
            "true",
        )
        .with_s3(AmazonS3ConfigKey::AccessKeyId, "testing")
        .with_s3(AmazonS3ConfigKey::SecretAccessKey, "testing")
        .with_s3(AmazonS3ConfigKey::Region, "us-east-1")
}
