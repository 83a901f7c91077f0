//! Country text as CRMs store it (`"United Kingdom"`, `"gb"`, `"DEU"`, `"The
//! Netherlands"`) → the ISO 3166-1 alpha-2 region libphonenumber reads national numbers
//! in.

use std::{collections::HashMap, str::FromStr, sync::OnceLock};

use phonenumber::country::Id;

/// The region (ISO 3166-1 alpha-2, upper case) of a country as CRMs store it, for reading
/// phone numbers written without a country code; `None` when the text names no country
/// libphonenumber has numbering rules for.
///
/// Accepts, case-insensitively and ignoring surrounding spaces:
///
/// - every alpha-2 code libphonenumber knows (`GB`, `de`, and `UK` for `GB`);
/// - ISO 3166-1 alpha-3 codes (`GBR`, `deu`, `USA`);
/// - English short names and common variants (`United Kingdom`, `Great Britain`,
///   `England`, `United States of America`, `The Netherlands`, `Holland`, `Korea,
///   Republic of`, `Ivory Coast`, `St Lucia`, `Trinidad & Tobago`, ...), and the local
///   names of the most common ones (`Deutschland`, `España`, `Österreich`, `Schweiz`,
///   `Sverige`, ...). Accents, dots, commas, brackets and a leading `the` do not matter.
///
/// ```
/// use crmsync_transform::region_for_country;
/// assert_eq!(region_for_country("United Kingdom"), Some("GB"));
/// assert_eq!(region_for_country(" the netherlands "), Some("NL"));
/// assert_eq!(region_for_country("DEU"), Some("DE"));
/// assert_eq!(region_for_country("España"), Some("ES"));
/// assert_eq!(region_for_country("fr"), Some("FR"));
/// assert_eq!(region_for_country("Atlantis"), None);
/// ```
pub fn region_for_country(text: &str) -> Option<&'static str> {
    lookup(text).map(|id| id.as_ref())
}

/// [`region_for_country`] as libphonenumber's id.
pub(crate) fn region_id_for_country(text: &str) -> Option<Id> {
    lookup(text).copied()
}

/// Builds the lookup table now rather than on the first record.
pub(crate) fn warm_up() {
    table();
}

fn lookup(text: &str) -> Option<&'static Id> {
    let text = text.trim();
    // Longer than any name in the table: not a country (and not worth normalizing).
    if text.is_empty() || text.len() > MAX_NAME_LEN {
        return None;
    }
    table().get(normalize(text).as_str())
}

/// Longer text is no country name ("United Kingdom of Great Britain and Northern Ireland"
/// is 52 bytes).
const MAX_NAME_LEN: usize = 80;

/// Normalized name, alpha-2 or alpha-3 code → region, built once.
fn table() -> &'static HashMap<String, Id> {
    static TABLE: OnceLock<HashMap<String, Id>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::with_capacity(1200);
        for (key, alpha2) in keys() {
            if let Ok(id) = Id::from_str(alpha2) {
                // The first entry wins; a test checks that no key names two countries.
                table.entry(key).or_insert(id);
            }
        }
        table
    })
}

/// Every key of the table with the alpha-2 code it stands for, normalized.
fn keys() -> impl Iterator<Item = (String, &'static str)> {
    COUNTRIES.iter().flat_map(|&(alpha2, alpha3, names)| {
        std::iter::once(alpha2)
            .chain((!alpha3.is_empty()).then_some(alpha3))
            .chain(names.iter().copied())
            .map(move |name| (normalize(name), alpha2))
    })
}

/// Lower case without accents; dots and apostrophes dropped (`U.S.A.` → `usa`); `&` read
/// as `and`; other punctuation and runs of spaces as one space; a leading `the` dropped;
/// `st` read as `saint`.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    // Where the word being read starts in `out`.
    let mut word: Option<usize> = None;
    for c in text.chars() {
        match c {
            '.' | '\'' | '’' | '`' => {}
            '&' => {
                end_word(&mut out, &mut word);
                push_letters(&mut out, &mut word, "and".chars());
                end_word(&mut out, &mut word);
            }
            c if c.is_alphanumeric() => {
                push_letters(&mut out, &mut word, c.to_lowercase().map(fold_accent));
            }
            _ => end_word(&mut out, &mut word),
        }
    }
    end_word(&mut out, &mut word);
    out
}

/// Appends letters to the current word of [`normalize`], starting one if needed.
fn push_letters(out: &mut String, word: &mut Option<usize>, letters: impl Iterator<Item = char>) {
    if word.is_none() {
        if !out.is_empty() {
            out.push(' ');
        }
        *word = Some(out.len());
    }
    out.extend(letters);
}

/// Ends the current word of [`normalize`]: a leading `the` is dropped, `st` becomes
/// `saint`.
fn end_word(out: &mut String, word: &mut Option<usize>) {
    let Some(start) = word.take() else {
        return;
    };
    match out.get(start..) {
        Some("the") if start == 0 => out.clear(),
        Some("st") => {
            out.truncate(start);
            out.push_str("saint");
        }
        _ => {}
    }
}

/// The letter without its accent, for the accents of country names.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ř' => 'r',
        'ł' => 'l',
        other => other,
    }
}

/// ISO 3166-1 (plus the regions libphonenumber adds: Ascension, Tristan da Cunha,
/// Kosovo): alpha-2, alpha-3 (empty when there is none), English names and variants.
/// Regions libphonenumber has no rules for (Antarctica, Bouvet Island, ...) are listed
/// for completeness and left out of the table.
const COUNTRIES: &[(&str, &str, &[&str])] = &[
    ("AC", "", &["Ascension Island", "Ascension"]),
    ("AD", "AND", &["Andorra"]),
    (
        "AE",
        "ARE",
        &["United Arab Emirates", "UAE", "Emirates", "U.A.E."],
    ),
    ("AF", "AFG", &["Afghanistan"]),
    ("AG", "ATG", &["Antigua and Barbuda", "Antigua"]),
    ("AI", "AIA", &["Anguilla"]),
    ("AL", "ALB", &["Albania", "Shqipëria"]),
    ("AM", "ARM", &["Armenia"]),
    ("AO", "AGO", &["Angola"]),
    ("AQ", "ATA", &["Antarctica"]),
    ("AR", "ARG", &["Argentina"]),
    ("AS", "ASM", &["American Samoa"]),
    (
        "AT",
        "AUT",
        &["Austria", "Österreich", "Republic of Austria"],
    ),
    ("AU", "AUS", &["Australia", "Commonwealth of Australia"]),
    ("AW", "ABW", &["Aruba"]),
    ("AX", "ALA", &["Åland Islands", "Aland", "Åland"]),
    ("AZ", "AZE", &["Azerbaijan"]),
    (
        "BA",
        "BIH",
        &["Bosnia and Herzegovina", "Bosnia-Herzegovina", "Bosnia"],
    ),
    ("BB", "BRB", &["Barbados"]),
    ("BD", "BGD", &["Bangladesh"]),
    (
        "BE",
        "BEL",
        &[
            "Belgium",
            "België",
            "Belgique",
            "Belgien",
            "Kingdom of Belgium",
        ],
    ),
    ("BF", "BFA", &["Burkina Faso"]),
    ("BG", "BGR", &["Bulgaria"]),
    ("BH", "BHR", &["Bahrain"]),
    ("BI", "BDI", &["Burundi"]),
    ("BJ", "BEN", &["Benin"]),
    (
        "BL",
        "BLM",
        &["Saint Barthélemy", "Saint Barts", "St Barths"],
    ),
    ("BM", "BMU", &["Bermuda"]),
    ("BN", "BRN", &["Brunei Darussalam", "Brunei"]),
    (
        "BO",
        "BOL",
        &[
            "Bolivia",
            "Bolivia (Plurinational State of)",
            "Plurinational State of Bolivia",
        ],
    ),
    (
        "BQ",
        "BES",
        &[
            "Bonaire, Sint Eustatius and Saba",
            "Caribbean Netherlands",
            "Bonaire",
        ],
    ),
    ("BR", "BRA", &["Brazil", "Brasil"]),
    ("BS", "BHS", &["Bahamas"]),
    ("BT", "BTN", &["Bhutan"]),
    ("BV", "BVT", &["Bouvet Island"]),
    ("BW", "BWA", &["Botswana"]),
    ("BY", "BLR", &["Belarus"]),
    ("BZ", "BLZ", &["Belize"]),
    ("CA", "CAN", &["Canada"]),
    (
        "CC",
        "CCK",
        &[
            "Cocos (Keeling) Islands",
            "Cocos Islands",
            "Keeling Islands",
        ],
    ),
    (
        "CD",
        "COD",
        &[
            "Democratic Republic of the Congo",
            "Congo, Democratic Republic of the",
            "Congo, The Democratic Republic of the",
            "DR Congo",
            "DRC",
            "Congo-Kinshasa",
            "Congo (Kinshasa)",
        ],
    ),
    ("CF", "CAF", &["Central African Republic"]),
    (
        "CG",
        "COG",
        &[
            "Congo",
            "Republic of the Congo",
            "Congo-Brazzaville",
            "Congo (Brazzaville)",
        ],
    ),
    (
        "CH",
        "CHE",
        &[
            "Switzerland",
            "Schweiz",
            "Suisse",
            "Svizzera",
            "Swiss Confederation",
        ],
    ),
    ("CI", "CIV", &["Côte d'Ivoire", "Ivory Coast"]),
    ("CK", "COK", &["Cook Islands"]),
    ("CL", "CHL", &["Chile"]),
    ("CM", "CMR", &["Cameroon"]),
    (
        "CN",
        "CHN",
        &[
            "China",
            "People's Republic of China",
            "PRC",
            "Mainland China",
        ],
    ),
    ("CO", "COL", &["Colombia"]),
    ("CR", "CRI", &["Costa Rica"]),
    ("CU", "CUB", &["Cuba"]),
    ("CV", "CPV", &["Cabo Verde", "Cape Verde"]),
    ("CW", "CUW", &["Curaçao"]),
    ("CX", "CXR", &["Christmas Island"]),
    ("CY", "CYP", &["Cyprus"]),
    ("CZ", "CZE", &["Czechia", "Czech Republic", "Česko"]),
    (
        "DE",
        "DEU",
        &[
            "Germany",
            "Deutschland",
            "Federal Republic of Germany",
            "Allemagne",
        ],
    ),
    ("DJ", "DJI", &["Djibouti"]),
    ("DK", "DNK", &["Denmark", "Danmark"]),
    ("DM", "DMA", &["Dominica"]),
    ("DO", "DOM", &["Dominican Republic"]),
    ("DZ", "DZA", &["Algeria"]),
    ("EC", "ECU", &["Ecuador"]),
    ("EE", "EST", &["Estonia", "Eesti"]),
    ("EG", "EGY", &["Egypt"]),
    ("EH", "ESH", &["Western Sahara"]),
    ("ER", "ERI", &["Eritrea"]),
    ("ES", "ESP", &["Spain", "España", "Kingdom of Spain"]),
    ("ET", "ETH", &["Ethiopia"]),
    ("FI", "FIN", &["Finland", "Suomi"]),
    ("FJ", "FJI", &["Fiji"]),
    (
        "FK",
        "FLK",
        &[
            "Falkland Islands",
            "Falkland Islands (Malvinas)",
            "Falklands",
        ],
    ),
    (
        "FM",
        "FSM",
        &[
            "Micronesia",
            "Federated States of Micronesia",
            "Micronesia (Federated States of)",
            "Micronesia, Federated States of",
        ],
    ),
    ("FO", "FRO", &["Faroe Islands", "Faroes", "Faeroe Islands"]),
    ("FR", "FRA", &["France", "French Republic"]),
    ("GA", "GAB", &["Gabon"]),
    (
        "GB",
        "GBR",
        &[
            "United Kingdom",
            "United Kingdom of Great Britain and Northern Ireland",
            "UK",
            "Great Britain",
            "Britain",
            "England",
            "Scotland",
            "Wales",
            "Northern Ireland",
        ],
    ),
    ("GD", "GRD", &["Grenada"]),
    ("GE", "GEO", &["Georgia"]),
    ("GF", "GUF", &["French Guiana"]),
    ("GG", "GGY", &["Guernsey"]),
    ("GH", "GHA", &["Ghana"]),
    ("GI", "GIB", &["Gibraltar"]),
    ("GL", "GRL", &["Greenland"]),
    ("GM", "GMB", &["Gambia"]),
    ("GN", "GIN", &["Guinea"]),
    ("GP", "GLP", &["Guadeloupe"]),
    ("GQ", "GNQ", &["Equatorial Guinea"]),
    ("GR", "GRC", &["Greece", "Hellas"]),
    (
        "GS",
        "SGS",
        &["South Georgia and the South Sandwich Islands"],
    ),
    ("GT", "GTM", &["Guatemala"]),
    ("GU", "GUM", &["Guam"]),
    ("GW", "GNB", &["Guinea-Bissau"]),
    ("GY", "GUY", &["Guyana"]),
    (
        "HK",
        "HKG",
        &["Hong Kong", "Hong Kong SAR", "Hong Kong, China"],
    ),
    ("HM", "HMD", &["Heard Island and McDonald Islands"]),
    ("HN", "HND", &["Honduras"]),
    ("HR", "HRV", &["Croatia", "Hrvatska"]),
    ("HT", "HTI", &["Haiti"]),
    ("HU", "HUN", &["Hungary", "Magyarország"]),
    ("ID", "IDN", &["Indonesia"]),
    (
        "IE",
        "IRL",
        &["Ireland", "Republic of Ireland", "Éire", "Eire"],
    ),
    ("IL", "ISR", &["Israel"]),
    ("IM", "IMN", &["Isle of Man"]),
    ("IN", "IND", &["India", "Bharat"]),
    (
        "IO",
        "IOT",
        &["British Indian Ocean Territory", "Diego Garcia"],
    ),
    ("IQ", "IRQ", &["Iraq"]),
    (
        "IR",
        "IRN",
        &[
            "Iran",
            "Iran (Islamic Republic of)",
            "Islamic Republic of Iran",
        ],
    ),
    ("IS", "ISL", &["Iceland", "Ísland"]),
    ("IT", "ITA", &["Italy", "Italia", "Italian Republic"]),
    ("JE", "JEY", &["Jersey"]),
    ("JM", "JAM", &["Jamaica"]),
    ("JO", "JOR", &["Jordan"]),
    ("JP", "JPN", &["Japan", "Nippon", "Nihon"]),
    ("KE", "KEN", &["Kenya"]),
    ("KG", "KGZ", &["Kyrgyzstan", "Kyrgyz Republic"]),
    ("KH", "KHM", &["Cambodia"]),
    ("KI", "KIR", &["Kiribati"]),
    ("KM", "COM", &["Comoros"]),
    (
        "KN",
        "KNA",
        &["Saint Kitts and Nevis", "Saint Christopher and Nevis"],
    ),
    (
        "KP",
        "PRK",
        &[
            "North Korea",
            "Democratic People's Republic of Korea",
            "Korea, Democratic People's Republic of",
            "Korea (Democratic People's Republic of)",
            "DPRK",
        ],
    ),
    (
        "KR",
        "KOR",
        &[
            "South Korea",
            "Korea",
            "Republic of Korea",
            "Korea, Republic of",
            "Korea (Republic of)",
            "Korea, South",
        ],
    ),
    ("KW", "KWT", &["Kuwait"]),
    ("KY", "CYM", &["Cayman Islands"]),
    ("KZ", "KAZ", &["Kazakhstan"]),
    (
        "LA",
        "LAO",
        &["Laos", "Lao People's Democratic Republic", "Lao PDR"],
    ),
    ("LB", "LBN", &["Lebanon"]),
    ("LC", "LCA", &["Saint Lucia"]),
    ("LI", "LIE", &["Liechtenstein"]),
    ("LK", "LKA", &["Sri Lanka"]),
    ("LR", "LBR", &["Liberia"]),
    ("LS", "LSO", &["Lesotho"]),
    ("LT", "LTU", &["Lithuania", "Lietuva"]),
    ("LU", "LUX", &["Luxembourg", "Luxemburg"]),
    ("LV", "LVA", &["Latvia", "Latvija"]),
    ("LY", "LBY", &["Libya"]),
    ("MA", "MAR", &["Morocco"]),
    ("MC", "MCO", &["Monaco"]),
    (
        "MD",
        "MDA",
        &["Moldova", "Republic of Moldova", "Moldova, Republic of"],
    ),
    ("ME", "MNE", &["Montenegro"]),
    ("MF", "MAF", &["Saint Martin", "Saint Martin (French part)"]),
    ("MG", "MDG", &["Madagascar"]),
    ("MH", "MHL", &["Marshall Islands"]),
    ("MK", "MKD", &["North Macedonia", "Macedonia"]),
    ("ML", "MLI", &["Mali"]),
    ("MM", "MMR", &["Myanmar", "Burma"]),
    ("MN", "MNG", &["Mongolia"]),
    ("MO", "MAC", &["Macao", "Macau", "Macao SAR"]),
    ("MP", "MNP", &["Northern Mariana Islands"]),
    ("MQ", "MTQ", &["Martinique"]),
    ("MR", "MRT", &["Mauritania"]),
    ("MS", "MSR", &["Montserrat"]),
    ("MT", "MLT", &["Malta"]),
    ("MU", "MUS", &["Mauritius"]),
    ("MV", "MDV", &["Maldives"]),
    ("MW", "MWI", &["Malawi"]),
    ("MX", "MEX", &["Mexico", "México", "United Mexican States"]),
    ("MY", "MYS", &["Malaysia"]),
    ("MZ", "MOZ", &["Mozambique"]),
    ("NA", "NAM", &["Namibia"]),
    ("NC", "NCL", &["New Caledonia"]),
    ("NE", "NER", &["Niger"]),
    ("NF", "NFK", &["Norfolk Island"]),
    ("NG", "NGA", &["Nigeria"]),
    ("NI", "NIC", &["Nicaragua"]),
    (
        "NL",
        "NLD",
        &[
            "Netherlands",
            "Holland",
            "Nederland",
            "Netherlands (Kingdom of the)",
            "Kingdom of the Netherlands",
        ],
    ),
    ("NO", "NOR", &["Norway", "Norge", "Noreg"]),
    ("NP", "NPL", &["Nepal"]),
    ("NR", "NRU", &["Nauru"]),
    ("NU", "NIU", &["Niue"]),
    ("NZ", "NZL", &["New Zealand", "Aotearoa"]),
    ("OM", "OMN", &["Oman"]),
    ("PA", "PAN", &["Panama"]),
    ("PE", "PER", &["Peru"]),
    ("PF", "PYF", &["French Polynesia"]),
    ("PG", "PNG", &["Papua New Guinea"]),
    ("PH", "PHL", &["Philippines"]),
    ("PK", "PAK", &["Pakistan"]),
    ("PL", "POL", &["Poland", "Polska"]),
    ("PM", "SPM", &["Saint Pierre and Miquelon"]),
    ("PN", "PCN", &["Pitcairn", "Pitcairn Islands"]),
    ("PR", "PRI", &["Puerto Rico"]),
    (
        "PS",
        "PSE",
        &[
            "Palestine",
            "State of Palestine",
            "Palestine, State of",
            "Palestinian Territories",
            "Palestinian Territory",
        ],
    ),
    ("PT", "PRT", &["Portugal", "Portuguese Republic"]),
    ("PW", "PLW", &["Palau"]),
    ("PY", "PRY", &["Paraguay"]),
    ("QA", "QAT", &["Qatar"]),
    ("RE", "REU", &["Réunion"]),
    ("RO", "ROU", &["Romania", "România"]),
    ("RS", "SRB", &["Serbia", "Srbija"]),
    ("RU", "RUS", &["Russia", "Russian Federation"]),
    ("RW", "RWA", &["Rwanda"]),
    (
        "SA",
        "SAU",
        &["Saudi Arabia", "Kingdom of Saudi Arabia", "KSA"],
    ),
    ("SB", "SLB", &["Solomon Islands"]),
    ("SC", "SYC", &["Seychelles"]),
    ("SD", "SDN", &["Sudan"]),
    ("SE", "SWE", &["Sweden", "Sverige", "Kingdom of Sweden"]),
    ("SG", "SGP", &["Singapore", "Republic of Singapore"]),
    (
        "SH",
        "SHN",
        &[
            "Saint Helena",
            "Saint Helena, Ascension and Tristan da Cunha",
        ],
    ),
    ("SI", "SVN", &["Slovenia", "Slovenija"]),
    ("SJ", "SJM", &["Svalbard and Jan Mayen", "Svalbard"]),
    ("SK", "SVK", &["Slovakia", "Slovak Republic", "Slovensko"]),
    ("SL", "SLE", &["Sierra Leone"]),
    ("SM", "SMR", &["San Marino"]),
    ("SN", "SEN", &["Senegal"]),
    ("SO", "SOM", &["Somalia"]),
    ("SR", "SUR", &["Suriname", "Surinam"]),
    ("SS", "SSD", &["South Sudan"]),
    (
        "ST",
        "STP",
        &["Sao Tome and Principe", "São Tomé and Príncipe"],
    ),
    ("SV", "SLV", &["El Salvador"]),
    ("SX", "SXM", &["Sint Maarten", "Sint Maarten (Dutch part)"]),
    ("SY", "SYR", &["Syria", "Syrian Arab Republic"]),
    ("SZ", "SWZ", &["Eswatini", "Swaziland"]),
    ("TA", "", &["Tristan da Cunha"]),
    (
        "TC",
        "TCA",
        &["Turks and Caicos Islands", "Turks and Caicos"],
    ),
    ("TD", "TCD", &["Chad"]),
    ("TF", "ATF", &["French Southern Territories"]),
    ("TG", "TGO", &["Togo"]),
    ("TH", "THA", &["Thailand"]),
    ("TJ", "TJK", &["Tajikistan"]),
    ("TK", "TKL", &["Tokelau"]),
    ("TL", "TLS", &["Timor-Leste", "East Timor"]),
    ("TM", "TKM", &["Turkmenistan"]),
    ("TN", "TUN", &["Tunisia"]),
    ("TO", "TON", &["Tonga"]),
    ("TR", "TUR", &["Turkey", "Türkiye", "Republic of Türkiye"]),
    ("TT", "TTO", &["Trinidad and Tobago", "Trinidad"]),
    ("TV", "TUV", &["Tuvalu"]),
    (
        "TW",
        "TWN",
        &["Taiwan", "Taiwan, Province of China", "Republic of China"],
    ),
    (
        "TZ",
        "TZA",
        &[
            "Tanzania",
            "United Republic of Tanzania",
            "Tanzania, United Republic of",
        ],
    ),
    ("UA", "UKR", &["Ukraine", "Ukraina"]),
    ("UG", "UGA", &["Uganda"]),
    ("UM", "UMI", &["United States Minor Outlying Islands"]),
    (
        "US",
        "USA",
        &[
            "United States",
            "United States of America",
            "America",
            "U.S.",
            "U.S. of A.",
        ],
    ),
    ("UY", "URY", &["Uruguay"]),
    ("UZ", "UZB", &["Uzbekistan"]),
    (
        "VA",
        "VAT",
        &["Holy See", "Vatican City", "Vatican", "Vatican City State"],
    ),
    (
        "VC",
        "VCT",
        &["Saint Vincent and the Grenadines", "Saint Vincent"],
    ),
    (
        "VE",
        "VEN",
        &[
            "Venezuela",
            "Venezuela (Bolivarian Republic of)",
            "Bolivarian Republic of Venezuela",
        ],
    ),
    (
        "VG",
        "VGB",
        &[
            "British Virgin Islands",
            "Virgin Islands (British)",
            "Virgin Islands, British",
        ],
    ),
    (
        "VI",
        "VIR",
        &[
            "U.S. Virgin Islands",
            "US Virgin Islands",
            "United States Virgin Islands",
            "Virgin Islands (U.S.)",
            "Virgin Islands, U.S.",
        ],
    ),
    ("VN", "VNM", &["Vietnam", "Viet Nam"]),
    ("VU", "VUT", &["Vanuatu"]),
    ("WF", "WLF", &["Wallis and Futuna"]),
    ("WS", "WSM", &["Samoa"]),
    ("XK", "XKX", &["Kosovo"]),
    ("YE", "YEM", &["Yemen"]),
    ("YT", "MYT", &["Mayotte"]),
    (
        "ZA",
        "ZAF",
        &["South Africa", "Republic of South Africa", "RSA"],
    ),
    ("ZM", "ZMB", &["Zambia"]),
    ("ZW", "ZWE", &["Zimbabwe"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_and_variants_resolve() {
        let cases = [
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("u.k.", "GB"),
            ("Great Britain", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("GB", "GB"),
            ("gb", "GB"),
            ("GBR", "GB"),
            ("gbr", "GB"),
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("United States of America", "US"),
            ("US", "US"),
            ("us", "US"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("DEU", "DE"),
            ("France", "FR"),
            ("FRA", "FR"),
            ("Netherlands", "NL"),
            ("The Netherlands", "NL"),
            ("the  netherlands", "NL"),
            ("Holland", "NL"),
            ("NLD", "NL"),
            ("Spain", "ES"),
            ("España", "ES"),
            ("ESPAÑA", "ES"),
            ("espana", "ES"),
            ("Italy", "IT"),
            ("Ireland", "IE"),
            ("Northern Ireland", "GB"),
            ("Australia", "AU"),
            ("AUS", "AU"),
            ("Canada", "CA"),
            ("Mexico", "MX"),
            ("México", "MX"),
            ("Brazil", "BR"),
            ("India", "IN"),
            ("Japan", "JP"),
            ("China", "CN"),
            ("Sweden", "SE"),
            ("Norway", "NO"),
            ("Denmark", "DK"),
            ("Finland", "FI"),
            ("Switzerland", "CH"),
            ("Austria", "AT"),
            ("Österreich", "AT"),
            ("Belgium", "BE"),
            ("Portugal", "PT"),
            ("Poland", "PL"),
            ("New Zealand", "NZ"),
            ("South Africa", "ZA"),
            ("Singapore", "SG"),
            ("Israel", "IL"),
            ("Iceland", "IS"),
            ("Korea, Republic of", "KR"),
            ("South Korea", "KR"),
            ("Côte d'Ivoire", "CI"),
            ("Cote d’Ivoire", "CI"),
            ("Ivory Coast", "CI"),
            ("St. Lucia", "LC"),
            ("St Kitts & Nevis", "KN"),
            ("Trinidad & Tobago", "TT"),
            ("Bosnia-Herzegovina", "BA"),
            ("Guinea-Bissau", "GW"),
            ("Guinea Bissau", "GW"),
            ("Viet Nam", "VN"),
            ("Czech Republic", "CZ"),
            ("Türkiye", "TR"),
            ("UAE", "AE"),
            ("Hong Kong", "HK"),
            ("Kosovo", "XK"),
            ("  united   kingdom\t", "GB"),
        ];
        for (text, code) in cases {
            assert_eq!(region_for_country(text), Some(code), "{text:?}");
        }
    }

    #[test]
    fn every_libphonenumber_region_resolves_by_its_code() {
        let mut known = 0;
        for &(alpha2, alpha3, _) in COUNTRIES {
            if Id::from_str(alpha2).is_ok() {
                known += 1;
                assert_eq!(region_for_country(alpha2), Some(alpha2));
                assert_eq!(
                    region_for_country(&alpha2.to_ascii_lowercase()),
                    Some(alpha2)
                );
                if !alpha3.is_empty() {
                    assert_eq!(region_for_country(alpha3), Some(alpha2), "{alpha3}");
                }
            }
        }
        // Every region phonenumber 0.3 has rules for (its `Id` enum) is in the table.
        assert_eq!(known, 245);
    }

    #[test]
    fn no_key_names_two_countries() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (key, alpha2) in keys() {
            assert!(!key.is_empty(), "empty key for {alpha2}");
            if let Some(other) = seen.insert(key.clone(), alpha2) {
                assert_eq!(other, alpha2, "`{key}` names {other} and {alpha2}");
            }
        }
    }

    #[test]
    fn unknown_text_resolves_to_nothing() {
        for text in [
            "",
            "   ",
            "Atlantis",
            "XX",
            "ZZZ",
            "Europe",
            "Antarctica", // ISO, but no phone numbering of its own
            "AQ",
            "United",
            "the",
            "12",
            "📞",
            &"a".repeat(10_000),
        ] {
            assert_eq!(region_for_country(text), None, "{text:?}");
        }
    }
}
