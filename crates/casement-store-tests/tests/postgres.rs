//! The storage story on PostgreSQL (a throwaway server; required in CI).

#[tokio::test]
async fn the_story_holds_on_postgres() {
    let Some(pg) = casement_store_tests::postgres::start_or_skip("the_story_holds_on_postgres")
    else {
        return;
    };
    let store = casement_store_sql::SqlStore::connect(&pg.url)
        .await
        .unwrap();
    casement_store_tests::story(&store).await;
}
