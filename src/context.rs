//! What services run with: the database, the settings, the platform's time zone and the
//! administrative map. Startup
//! (and the command line) builds one; services receive it, and never the application state that
//! startup assembles, so that nothing below the routes depends on startup.

use std::sync::Arc;

use crate::admin_map::AdminMap;
use crate::catalogue::Catalogue;
use crate::config::Settings;
use crate::db::Database;

#[derive(Clone)]
pub struct Context {
    pub db: Database,
    pub settings: Arc<Settings>,
    /// The platform's time zone (`reporting.timezone`): calendar days of reports and views.
    pub timezone: chrono_tz::Tz,
    /// Both administrative maps (they change only with a migration).
    pub map: Arc<AdminMap>,
    /// The catalogue's search index; servers have one, command-line tasks do not.
    pub catalogue: Option<Arc<Catalogue>>,
}

impl Context {
    pub fn new(db: Database, settings: Settings, map: AdminMap) -> anyhow::Result<Context> {
        let timezone = settings.timezone()?;
        Ok(Context {
            db,
            settings: Arc::new(settings),
            timezone,
            map: Arc::new(map),
            catalogue: None,
        })
    }

    /// Waits (briefly) until this server's search index shows what was just written, so that the
    /// writer's next search finds it. Other servers catch up within `catalogue.follow_interval`.
    pub async fn catalogue_caught_up(&self) {
        if let Some(catalogue) = &self.catalogue {
            catalogue.caught_up(std::time::Duration::from_secs(2)).await;
        }
    }

    /// Today's date in the platform's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.timezone)
            .date_naive()
    }
}
