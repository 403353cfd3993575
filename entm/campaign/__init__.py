"""Campaigns: many runs (groups x seeds) from one campaign file, on Ray (docs/campaigns.md).

- :mod:`entm.campaign.spec`: the campaign file (TOML), checked and expanded into runs;
- :mod:`entm.campaign.work`: the campaign directory, and one run started or resumed;
- :mod:`entm.campaign.runner`: the runs as Ray tasks, the progress view (the only module here that
  imports Ray).
"""
