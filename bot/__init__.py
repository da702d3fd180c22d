"""twinbot core: members, dialogs, languages. Imports no platform or storage library."""
