import pytest
from incident_commander.config import ConfigError, Settings


def test_defaults_and_overrides():
    s = Settings.from_env({"IC_DETECTION_WINDOW_SECONDS": "600", "IC_CONSENSUS_QUORUM": "3",
                           "IC_ESCALATION_LEVELS": '[{"name": "l1", "timeout_seconds": 5}]'})
    assert s.detection.window_seconds == 600 and s.consensus.quorum == 3
    assert s.escalation.levels[0].name == "l1" and s.escalation.levels[0].timeout_seconds == 5
    assert Settings.from_env({}).consensus.auto_threshold == 0.8


@pytest.mark.parametrize("env, var", [
    ({"IC_DETECTION_WINDOW_SECONDS": "soon"}, "IC_DETECTION_WINDOW_SECONDS"),
    ({"IC_CONSENSUS_AUTO_THRESHOLD": "1.5"}, "IC_CONSENSUS_AUTO_THRESHOLD"),
    ({"IC_ESCALATION_LEVELS": "[oops"}, "IC_ESCALATION_LEVELS"),
])
def test_bad_values_name_the_variable(env, var):
    with pytest.raises(ConfigError, match=var):
        Settings.from_env(env)
