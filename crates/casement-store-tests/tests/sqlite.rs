//! The storage story on the embedded SQLite backend.

#[tokio::test]
async fn the_story_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = casement_store_sql::SqlStore::sqlite_url(&dir.path().join("story.db"));
    let store = casement_store_sql::SqlStore::connect(&url).await.unwrap();
    casement_store_tests::story(&store).await;
}
