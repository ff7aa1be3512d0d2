//! Routing rules: validated when a tenant saves them, compiled once, matched per message.

use std::sync::Arc;

use nave_hub_core::error::FieldViolation;
use nave_hub_core::{Error, Result};
use regex::Regex;
use uuid::Uuid;

use crate::spokes::{SpokeRole, Spokes};
use crate::types::{ChannelMessage, RoutingRule};

/// Most rules a tenant may have.
pub const MAX_RULES: usize = 100;
/// Most processors one rule may run.
pub const MAX_PROCESSORS: usize = 10;

/// A tenant's rules, ready to match.
#[derive(Debug, Clone, Default)]
pub struct CompiledRules {
    /// The rules with their patterns compiled, in order.
    rules: Vec<(RoutingRule, Option<Regex>)>,
}

impl CompiledRules {
    /// Compiles rules that passed [`validate`].
    pub fn compile(rules: Vec<RoutingRule>) -> Self {
        let rules = rules
            .into_iter()
            .map(|rule| {
                let pattern = rule
                    .when
                    .text_pattern
                    .as_deref()
                    .and_then(|p| Regex::new(p).ok());
                (rule, pattern)
            })
            .collect();
        CompiledRules { rules }
    }

    /// The first rule that applies to a message from `installation`, with its position.
    pub fn route(
        &self,
        installation: Uuid,
        message: &ChannelMessage,
    ) -> Option<(usize, &RoutingRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, (rule, pattern))| matches(rule, pattern.as_ref(), installation, message))
            .map(|(i, (rule, _))| (i, rule))
    }
}

fn matches(
    rule: &RoutingRule,
    pattern: Option<&Regex>,
    installation: Uuid,
    message: &ChannelMessage,
) -> bool {
    let when = &rule.when;
    if when.installation_id.is_some_and(|id| id != installation) {
        return false;
    }
    if let Some(pattern) = pattern
        && !message.text.as_deref().is_some_and(|t| pattern.is_match(t))
    {
        return false;
    }
    if let Some(wanted) = when.has_attachment
        && wanted == message.attachments.is_empty()
    {
        return false;
    }
    if let Some(payload) = &when.payload
        && message.payload.as_deref() != Some(payload.as_str())
    {
        return false;
    }
    true
}

/// Checks a tenant's rules; every problem is reported at once, each with its field path.
pub fn validate(rules: &[RoutingRule], tenant_id: Uuid, spokes: &Arc<dyn Spokes>) -> Result<()> {
    let mut problems: Vec<FieldViolation> = Vec::new();
    let mut problem =
        |field: String, message: String| problems.push(FieldViolation { field, message });
    if rules.len() > MAX_RULES {
        problem(
            "rules".to_string(),
            format!("at most {MAX_RULES} rules, got {}", rules.len()),
        );
    }
    let role_of = |id: Uuid| {
        spokes
            .installation(id)
            .filter(|s| s.tenant_id == tenant_id)
            .map(|s| s.role)
    };
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        let name = rule.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problem(
                format!("{at}.name"),
                "give a name of 1 to 100 characters".to_string(),
            );
        }
        if let Some(pattern) = &rule.when.text_pattern
            && let Err(err) = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
        {
            problem(
                format!("{at}.when.text_pattern"),
                format!("not a valid regular expression: {err}"),
            );
        }
        if let Some(id) = rule.when.installation_id
            && role_of(id) != Some(SpokeRole::Channel)
        {
            problem(
                format!("{at}.when.installation_id"),
                format!("{id} is not a channel installation of this workspace"),
            );
        }
        let actions = &rule.actions;
        if actions.processors.len() > MAX_PROCESSORS {
            problem(
                format!("{at}.then.processors"),
                format!("at most {MAX_PROCESSORS}"),
            );
        }
        for (j, id) in actions.processors.iter().enumerate() {
            if role_of(*id) != Some(SpokeRole::Processor) {
                problem(
                    format!("{at}.then.processors[{j}]"),
                    format!("{id} is not a processor installation of this workspace"),
                );
            }
        }
        if let Some(id) = actions.bot
            && role_of(id) != Some(SpokeRole::Bot)
        {
            problem(
                format!("{at}.then.bot"),
                format!("{id} is not a bot installation of this workspace"),
            );
        }
        if actions.handoff && actions.bot.is_some() {
            problem(
                format!("{at}.then"),
                "a rule either hands off to people or asks a bot, not both".to_string(),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Attachment, RuleActions, RuleConditions};

    fn rule(when: RuleConditions) -> RoutingRule {
        RoutingRule {
            name: "r".into(),
            when,
            actions: RuleActions::default(),
        }
    }

    #[test]
    fn the_first_rule_whose_conditions_all_hold_decides() {
        let channel = Uuid::now_v7();
        let rules = CompiledRules::compile(vec![
            rule(RuleConditions {
                text_pattern: Some("(?i)^agent".into()),
                ..Default::default()
            }),
            rule(RuleConditions {
                has_attachment: Some(true),
                installation_id: Some(channel),
                ..Default::default()
            }),
            rule(RuleConditions::default()),
        ]);
        let mut message = ChannelMessage {
            text: Some("AGENT please".into()),
            ..Default::default()
        };
        assert_eq!(rules.route(channel, &message).map(|r| r.0), Some(0));
        message.text = Some("hello".into());
        assert_eq!(rules.route(channel, &message).map(|r| r.0), Some(2));
        message.attachments.push(Attachment::default());
        assert_eq!(rules.route(channel, &message).map(|r| r.0), Some(1));
        assert_eq!(rules.route(Uuid::now_v7(), &message).map(|r| r.0), Some(2));
        assert!(CompiledRules::default().route(channel, &message).is_none());
    }
}
