//! The people of a labelled set: names, companies, valid phone numbers, and look-alikes.

use std::collections::HashSet;

use crate::matching::profile::fold;

use super::Rng;

/// First names, a few with accents.
#[rustfmt::skip]
pub(super) const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew",
    "Margaret", "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily", "Andrew", "Donna",
    "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa",
    "Edward", "Deborah", "Ronald", "Stephanie", "Timothy", "Rebecca", "Jason", "Laura",
    "Jeffrey", "Helen", "Ryan", "Sharon", "Jacob", "Cynthia", "Gary", "Kathleen",
    "Nicholas", "Amy", "Eric", "Angela", "Jonathan", "Anna", "Stephen", "Olivia", "Larry",
    "Sophie", "Justin", "Emma", "José", "François", "Zoë", "Björn", "Søren", "Renée",
    "Chloé", "Jürgen", "Ingrid", "Lukas", "Hannah", "Felix", "Oliver", "Amelia", "Harry",
    "Isla", "Priya", "Wei", "Aisha", "Mateo",
];

/// Last names, with near twins that are other families (`Smith`/`Smyth`,
/// `Johnson`/`Johnston`, `Meyer`/`Meier`), accents and apostrophes.
#[rustfmt::skip]
pub(super) const LAST_NAMES: &[&str] = &[
    "Smith", "Smyth", "Johnson", "Johnston", "Williams", "Brown", "Jones", "Garcia",
    "García", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
    "Wilson", "Anderson", "Andersen", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Clarke", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "O'Brien", "O'Connor", "McDonald",
    "MacDonald", "Müller", "Mueller", "Schmidt", "Schmitt", "Schneider", "Fischer", "Weber",
    "Meyer", "Meier", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch",
    "Richter", "Wolf", "Schröder", "Neumann", "Zimmermann", "Braun", "Krüger", "Hartmann",
    "Lange", "Evans", "Hughes", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Gómez", "Kelly",
    "Howard", "Ward", "Cox", "Díaz", "Richardson", "Wood", "Watson", "Brooks", "Bennett",
    "Gray", "James", "Reyes", "Cruz", "Hughes-Patel", "Okafor", "Kowalski", "Nowak",
    "Novák", "Lindqvist", "Johansson", "Fernández", "Rossi", "Russo", "Ferrari", "Esposito",
    "Dubois", "Lefèvre", "Moreau", "Chen", "Wang", "Kumar", "Singh", "Patel", "Tanaka",
    "Yamamoto",
];

/// Company names without legal form.
#[rustfmt::skip]
pub(super) const COMPANIES: &[&str] = &[
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay Industries",
    "Stark Industries", "Wayne Enterprises", "Cyberdyne Systems", "Soylent", "Tyrell",
    "Wonka Industries", "Massive Dynamic", "Aperture Science", "Black Mesa", "Oscorp",
    "Monarch Solutions", "Blue Sun", "Nakatomi Trading", "Dunder Mifflin", "Pied Piper",
    "Prestige Worldwide", "Sterling Cooper", "Bluth", "Gringotts", "Wernham Hogg",
    "Brightwell Analytics", "Hartley & Sons", "Schäfer Logistik", "Müller Maschinenbau",
    "Nordwind Energie", "Société Lumière", "Ollivanders", "Kruger Foods", "Zenith Labs",
    "Polar Freight", "Redwood Capital", "Silverline Media", "Quantum Bakery",
    "Harbor Dental",
];

/// Legal forms as written after a company name (often none).
#[rustfmt::skip]
pub(super) const LEGAL_FORMS: &[&str] = &[
    "", "", "", " Inc", " Inc.", ", Inc.", " LLC", " Ltd", " Limited", " GmbH", " S.A.",
    " SAS", " Corp", " Corp.", " Corporation", " Co", " plc", " AG", " BV",
];

/// Domains of personal addresses.
#[rustfmt::skip]
pub(super) const PERSONAL_DOMAINS: &[&str] = &[
    "mail.example", "inbox.example", "post.example",
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Country {
    Us,
    Gb,
    De,
}

impl Country {
    pub(super) fn code(self) -> &'static str {
        match self {
            Country::Us => "1",
            Country::Gb => "44",
            Country::De => "49",
        }
    }

    pub(super) fn region(self) -> &'static str {
        match self {
            Country::Us => "US",
            Country::Gb => "GB",
            Country::De => "DE",
        }
    }

    /// The ways CRMs write the country.
    pub(super) fn names(self) -> &'static [&'static str] {
        match self {
            Country::Us => &["US", "USA", "United States", "united states of america"],
            Country::Gb => &["GB", "UK", "United Kingdom", "England"],
            Country::De => &["DE", "Germany", "Deutschland", "DEU"],
        }
    }
}

/// A phone number: country, area code (without trunk prefix) and subscriber number.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Phone {
    pub(super) country: Country,
    pub(super) area: String,
    pub(super) rest: String,
}

impl Phone {
    pub(super) fn e164(&self) -> String {
        format!("+{}{}{}", self.country.code(), self.area, self.rest)
    }
}

/// One person as the truth knows them.
#[derive(Clone, Debug)]
pub(super) struct Person {
    pub(super) first: String,
    pub(super) last: String,
    pub(super) company: Option<usize>,
    pub(super) country: Country,
    pub(super) email: Option<String>,
    /// A personal address, used instead of the work one on one side now and then.
    pub(super) other_email: String,
    pub(super) phone: Option<Phone>,
    pub(super) mobile: Option<Phone>,
}

pub(super) struct Generator {
    pub(super) rng: Rng,
    pub(super) emails: HashSet<String>,
    pub(super) phones: HashSet<String>,
    /// `(first, last, company)` of everyone: two distinct people never share all three
    /// (data that says nothing else about them could not tell them apart either).
    pub(super) identities: HashSet<(String, String, Option<usize>)>,
    /// `(first name, last name, phone)` of everyone: two people with one name on one
    /// phone would be one person (family members made to share a phone differ in name).
    pub(super) households: HashSet<(String, String, String)>,
}

impl Generator {
    pub(super) fn person(&mut self, may_share_team_address: bool) -> Person {
        loop {
            let first = self.rng.pick(FIRST_NAMES).to_string();
            let last = self.rng.pick(LAST_NAMES).to_string();
            let company = self
                .rng
                .chance(0.85)
                .then(|| self.rng.below(COMPANIES.len()));
            if let Some(person) = self.person_named(first, last, company, may_share_team_address) {
                return person;
            }
        }
    }

    /// A new person, unless someone already has this name at this company.
    fn person_named(
        &mut self,
        first: String,
        last: String,
        company: Option<usize>,
        team_address: bool,
    ) -> Option<Person> {
        if !self
            .identities
            .insert((first.clone(), last.clone(), company))
        {
            return None;
        }
        let country = match self.rng.below(10) {
            0..=5 => Country::Us,
            6 | 7 => Country::Gb,
            _ => Country::De,
        };
        let f = ascii(&first);
        let l = ascii(&last);
        let patterns = [
            format!("{f}.{l}"),
            format!("{}{l}", &f[..1]),
            format!("{f}_{l}"),
            f.clone(),
        ];
        let pattern = self.rng.pick(&patterns).clone();
        let email = match company {
            Some(c) if team_address && self.rng.chance(0.05) => Some(format!("info@{}", domain(c))),
            Some(c) => Some(self.unique_email(&pattern, &domain(c))),
            None => {
                let personal = *self.rng.pick(PERSONAL_DOMAINS);
                Some(self.unique_email(&pattern, personal))
            }
        };
        let personal = *self.rng.pick(PERSONAL_DOMAINS);
        let other_email = self.unique_email(&format!("{f}{l}"), personal);
        let phone = self.rng.chance(0.85).then(|| self.phone(country));
        let mobile = self.rng.chance(0.35).then(|| self.phone(country));
        for phone in phone.iter().chain(&mobile) {
            self.households
                .insert((first.clone(), last.clone(), phone.e164()));
        }
        Some(Person {
            first,
            last,
            company,
            country,
            email,
            other_email,
            phone,
            mobile,
        })
    }

    /// Someone else who looks like `anchor`, and whether they share an e-mail address or
    /// a phone number.
    pub(super) fn hard_negative(&mut self, anchor: &Person) -> (Person, bool) {
        for _ in 0..50 {
            let first = self.rng.pick(FIRST_NAMES).to_string();
            let last = self.rng.pick(LAST_NAMES).to_string();
            let other_company = self.rng.below(COMPANIES.len());
            let kind = self.rng.below(4);
            let made = match kind {
                // Same first name, same company, another last name.
                0 if anchor.company.is_some() && last != anchor.last => {
                    self.person_named(anchor.first.clone(), last, anchor.company, false)
                }
                // Same last name (a third of the time the same full name), elsewhere.
                1 if Some(other_company) != anchor.company => {
                    let first = if self.rng.chance(0.33) {
                        anchor.first.clone()
                    } else {
                        first
                    };
                    self.person_named(first, anchor.last.clone(), Some(other_company), false)
                }
                // A colleague behind the same team address.
                2 if anchor.company.is_some() && first != anchor.first => self
                    .person_named(first, last, anchor.company, false)
                    .map(|mut p| {
                        p.email = anchor.company.map(|c| format!("info@{}", domain(c)));
                        p
                    }),
                // A family member on the same phone, sometimes on the same address.
                3 if anchor.phone.as_ref().is_some_and(|phone| {
                    !self
                        .households
                        .contains(&(first.clone(), anchor.last.clone(), phone.e164()))
                }) =>
                {
                    let company = self.rng.chance(0.5).then_some(other_company);
                    self.person_named(first, anchor.last.clone(), company, false)
                        .map(|mut p| {
                            p.phone = anchor.phone.clone();
                            if let Some(phone) = &p.phone {
                                self.households.insert((
                                    p.first.clone(),
                                    p.last.clone(),
                                    phone.e164(),
                                ));
                            }
                            p.country = anchor.country;
                            if anchor.company.is_none() && self.rng.chance(0.5) {
                                p.email = anchor.email.clone();
                            }
                            p
                        })
                }
                _ => None,
            };
            if let Some(person) = made {
                let same = |x: &Option<Phone>, y: &Option<Phone>| x.is_some() && x == y;
                let twin = (person.email.is_some() && person.email == anchor.email)
                    || same(&person.phone, &anchor.phone)
                    || same(&person.phone, &anchor.mobile);
                return (person, twin);
            }
        }
        (self.person(false), false)
    }

    fn unique_email(&mut self, local: &str, domain: &str) -> String {
        let mut n = 1;
        let mut email = format!("{local}@{domain}");
        while !self.emails.insert(email.clone()) {
            n += 1;
            email = format!("{local}{n}@{domain}");
        }
        email
    }

    /// A valid number nobody else has (checked with the normalizer the matcher uses).
    fn phone(&mut self, country: Country) -> Phone {
        loop {
            let (area, rest) = match (country, self.rng.below(3)) {
                (Country::Us, _) => {
                    let areas = [
                        "201", "212", "303", "312", "415", "512", "617", "646", "702", "917",
                    ];
                    let exchange = format!("{}{}", 2 + self.rng.below(8), self.rng.digits(2));
                    (
                        self.rng.pick(&areas).to_string(),
                        exchange + &self.rng.digits(4),
                    )
                }
                (Country::Gb, 0) => ("20".to_owned(), format!("7{}", self.rng.digits(7))),
                (Country::Gb, 1) => ("161".to_owned(), format!("4{}", self.rng.digits(6))),
                (Country::Gb, _) => (format!("7{}", 4 + self.rng.below(6)), self.rng.digits(8)),
                (Country::De, 0) => (
                    "30".to_owned(),
                    format!("{}{}", 2 + self.rng.below(7), self.rng.digits(7)),
                ),
                (Country::De, 1) => (
                    "89".to_owned(),
                    format!("{}{}", 2 + self.rng.below(7), self.rng.digits(7)),
                ),
                (Country::De, _) => ("151".to_owned(), self.rng.digits(8)),
            };
            let phone = Phone {
                country,
                area,
                rest,
            };
            let e164 = phone.e164();
            let trunk = if country == Country::Us { "" } else { "0" };
            let national = format!("{trunk}{}{}", phone.area, phone.rest);
            let region = country.region();
            let reads = |text: &str, region: &str| {
                crmsync_transform::normalize_phone(text, region).is_ok_and(|n| n == e164)
            };
            let valid = reads(&e164, "US") && reads(&national, region);
            if valid && self.phones.insert(e164) {
                return phone;
            }
        }
    }
}

pub(super) fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lower-case letters only, accents folded: how names appear in addresses.
pub(super) fn ascii(name: &str) -> String {
    let text: String = fold(name).filter(char::is_ascii_alphanumeric).collect();
    if text.is_empty() {
        "x".to_owned()
    } else {
        text
    }
}

pub(super) fn domain(company: usize) -> String {
    format!(
        "{}.example",
        ascii(COMPANIES.get(company).copied().unwrap_or("company"))
    )
}
