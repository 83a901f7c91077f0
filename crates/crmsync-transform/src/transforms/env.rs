//! [`TransformEnv`]: what transforms know besides the value.

use std::str::FromStr;

use crmsync_core::{Error, ErrorKind, Result};

use super::country::region_id_for_country;
use crate::RemoteValues;

/// What transforms may need besides the value: the mapping's default region, for phone
/// numbers the region of the record being mapped, and how the provider writes values.
///
/// The mapper gives each record its own environment when the object's mapping names the
/// field holding the record's country ([`ObjectMapping::phone_region`]); building one is
/// a copy of two region ids.
///
/// ```
/// use crmsync_transform::{RemoteValues, TransformEnv};
/// let tenant = TransformEnv::new("US")?;
/// let record = tenant.with_country("United Kingdom");
/// assert_eq!((record.region(), record.phone_region()), ("US", "GB"));
/// // An unknown country leaves the default region in place.
/// assert_eq!(tenant.with_country("Atlantis").phone_region(), "US");
/// assert!(tenant.remote_values().is_text());
/// assert_eq!(tenant.with_remote_values(RemoteValues::Typed).remote_values(), RemoteValues::Typed);
/// # Ok::<(), crmsync_core::Error>(())
/// ```
///
/// [`ObjectMapping::phone_region`]: crate::ObjectMapping::phone_region
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformEnv {
    region_id: phonenumber::country::Id,
    phone_region_id: phonenumber::country::Id,
    remote_values: RemoteValues,
}

impl TransformEnv {
    /// An environment with a default region (ISO 3166-1 alpha-2, e.g. `US`), for a
    /// provider that writes values as text.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] if the region is not one libphonenumber knows.
    pub fn new(region: &str) -> Result<Self> {
        let code = region.trim().to_ascii_uppercase();
        let region_id = phonenumber::country::Id::from_str(&code).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "unknown default_region `{region}`: use an ISO 3166-1 alpha-2 code \
                     such as US, GB or DE"
                ),
            )
        })?;
        Ok(Self {
            region_id,
            phone_region_id: region_id,
            remote_values: RemoteValues::Text,
        })
    }

    /// This environment for a record whose country is `country` (a name, an alpha-2 or
    /// an alpha-3 code, read by [`region_for_country`](crate::region_for_country)): phone
    /// numbers without a country code are read in that country. An unknown or empty
    /// country keeps the default region.
    pub fn with_country(&self, country: &str) -> Self {
        Self {
            phone_region_id: region_id_for_country(country).unwrap_or(self.region_id),
            ..self.clone()
        }
    }

    /// This environment for a provider that writes values as `remote_values` says.
    pub fn with_remote_values(mut self, remote_values: RemoteValues) -> Self {
        self.remote_values = remote_values;
        self
    }

    /// The default region's code, upper case: the tenant's region, which also decides how
    /// ambiguous dates (`05/01/2024`) are read.
    pub fn region(&self) -> &str {
        self.region_id.as_ref()
    }

    /// The code (upper case) of the region phone numbers without a country code are read
    /// in: the record's country when the mapping reads it and it is known, else the
    /// default [`region`](Self::region).
    pub fn phone_region(&self) -> &str {
        self.phone_region_id.as_ref()
    }

    /// How the provider writes numbers, booleans and instants: what number and boolean
    /// transforms give outbound.
    pub fn remote_values(&self) -> RemoteValues {
        self.remote_values
    }

    /// Whether the provider takes JSON numbers and booleans.
    pub(crate) fn typed(&self) -> bool {
        !self.remote_values.is_text()
    }

    pub(crate) fn region_id(&self) -> phonenumber::country::Id {
        self.region_id
    }

    pub(crate) fn phone_region_id(&self) -> phonenumber::country::Id {
        self.phone_region_id
    }
}

impl Default for TransformEnv {
    fn default() -> Self {
        Self {
            region_id: phonenumber::country::Id::US,
            phone_region_id: phonenumber::country::Id::US,
            remote_values: RemoteValues::Text,
        }
    }
}
