//! The one storage conformance suite (`tandem_store::conformance`), against a real PostgreSQL
//! server: each test on a fresh schema, twins as two stores (two pools) on one schema, as two
//! `tandem serve` processes on one database.

use tandem_store::Store;
use tandem_store_postgres::{PgStore, testdb};

fn fresh() -> Box<dyn Store> {
    Box::new(PgStore::open(&testdb::fresh_url()).expect("open"))
}

fn twins() -> (Box<dyn Store>, Box<dyn Store>) {
    let url = testdb::fresh_url();
    let first = PgStore::open(&url).expect("open");
    let second = PgStore::open(&url).expect("second handle");
    (Box::new(first), Box::new(second))
}

tandem_store::store_conformance_suite!(fresh(), twins: twins());
