import Testing

/// Groups the GitLab building-block suites so `swift test --filter GitLabUnits` selects them.
@Suite enum GitLabUnits {}
