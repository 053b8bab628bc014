"""Pub/Sub topics and subscriptions of the gcp program.

Topics first (an adopted one is read, in the deploying project only); the
pulled subscriptions with them, and the pushed ones once the Cloud Run
services they push to exist.  A subscription adopted as a queue is read with
them (:func:`create_adopted_queues`): the deploy stops on a push
subscription or one without a dead-letter policy, and the functions are
granted on it and on the topic and dead-letter topic read from it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from skaal.builder.stacks.gcp import AdoptedQueue, Push, Subscription, Topic
from skaal.errors import DeployError
from skaal.programs.gcp.context import Deploy

__all__ = ["create_adopted_queues", "create_subscriptions", "create_topics"]


def create_topics(deploy: Deploy) -> None:
    for topic in deploy.stack.topics:
        _topic(deploy, topic)


def create_adopted_queues(deploy: Deploy) -> None:
    for queue in deploy.stack.adopted_queues:
        _adopted_queue(deploy, queue)


def create_subscriptions(deploy: Deploy, *, pushed: bool) -> None:
    """The subscriptions pushed to a service (``pushed``), or pulled by the runtime."""
    for subscription in deploy.stack.subscriptions:
        if (subscription.push is not None) == pushed:
            _subscription(deploy, subscription)


def _topic(deploy: Deploy, spec: Topic) -> None:
    if spec.adopted is not None:
        # existing=: read into the stack from the deploying project, never created or deleted
        project = spec.adopted.project
        if project is not None and project != deploy.project:
            raise DeployError(
                f"{spec.key} adopts a Pub/Sub topic of project {project}, not the deploying "
                f"project {deploy.project}",
                where=f"existing={spec.adopted.topic!r}",
                fix="deploy there, or name a topic of this project in existing=",
            )
        topic = gcp.pubsub.Topic.get(
            spec.key, f"projects/{deploy.project}/topics/{spec.adopted.topic}"
        )
    else:
        topic = gcp.pubsub.Topic(
            spec.key,
            name=spec.name,
            message_retention_duration=spec.retention,
            opts=deploy.stateful,
        )
    deploy.topics[spec.key] = topic
    for grant in spec.grants:
        gcp.pubsub.TopicIAMMember(
            grant.name, topic=topic.name, role=grant.role, member=deploy.member(grant.member)
        )


def _push(deploy: Deploy, push: Push) -> gcp.pubsub.SubscriptionPushConfigArgs:
    uri = deploy.services[push.service].uri
    return gcp.pubsub.SubscriptionPushConfigArgs(
        push_endpoint=pulumi.Output.concat(uri, push.path),
        oidc_token=gcp.pubsub.SubscriptionPushConfigOidcTokenArgs(
            service_account_email=deploy.email(push.invoker), audience=uri
        ),
    )


def _subscription(deploy: Deploy, spec: Subscription) -> None:
    dead = spec.dead_letter
    subscription = gcp.pubsub.Subscription(
        spec.key,
        name=spec.name,
        topic=deploy.topics[spec.topic].id,
        ack_deadline_seconds=spec.ack_deadline_seconds,
        expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
        message_retention_duration=spec.retention,
        dead_letter_policy=None
        if dead is None
        else gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
            dead_letter_topic=deploy.topics[dead.topic].id,
            max_delivery_attempts=dead.max_delivery_attempts,
        ),
        push_config=None if spec.push is None else _push(deploy, spec.push),
        # a refused push comes back with Pub/Sub's back-off; a pulled subscription has no
        # retry policy, so the runtime's back-off is the only one
        retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
            minimum_backoff="10s", maximum_backoff="600s"
        )
        if spec.retry
        else None,
        opts=deploy.stateful if spec.stateful else None,
    )
    for grant in spec.grants:
        gcp.pubsub.SubscriptionIAMMember(
            grant.name,
            subscription=subscription.name,
            role=grant.role,
            member=deploy.member(grant.member),
        )


def _adopted_queue(deploy: Deploy, spec: AdoptedQueue) -> None:
    """Read the subscription ``spec`` adopts (never created or deleted) and grant on it."""
    where = f"existing={spec.subscription!r}"
    if spec.project is not None and spec.project != deploy.project:
        raise DeployError(
            f"{spec.key} adopts a Pub/Sub subscription of project {spec.project}, not the "
            f"deploying project {deploy.project}",
            where=where,
            fix="deploy there, or name a subscription of this project in existing=",
        )
    path = f"projects/{deploy.project}/subscriptions/{spec.subscription}"
    subscription = gcp.pubsub.Subscription.get(spec.key, path)

    def dead_letter_topic(read: list[Any]) -> str:
        policy, push = read
        endpoint = _field(push, "push_endpoint")
        if endpoint:
            raise DeployError(
                f"Pub/Sub subscription {path!r} pushes to {endpoint}; "
                f"{spec.key} adopts it as a queue the runtime pulls",
                where=where,
                fix="adopt a pull subscription (remove its push endpoint, or create a pull "
                "subscription on the same topic and name it in existing=)",
            )
        topic = _field(policy, "dead_letter_topic")
        if not topic:
            raise DeployError(
                f"Pub/Sub subscription {path!r} has no dead-letter policy, which the queue "
                "needs: a message that keeps failing must go somewhere, and the policy's "
                "max_delivery_attempts is the queue's limit of deliveries",
                where=where,
                fix="give the subscription a dead-letter topic (gcloud pubsub subscriptions "
                "update --dead-letter-topic=... --max-delivery-attempts=...)",
            )
        return str(topic)

    dead = pulumi.Output.all(subscription.dead_letter_policy, subscription.push_config).apply(
        dead_letter_topic
    )
    for grant in spec.receive_grants:
        gcp.pubsub.SubscriptionIAMMember(
            grant.name, subscription=path, role=grant.role, member=deploy.member(grant.member)
        )
    for grants, topic in (
        (spec.publish_grants, subscription.topic),
        (spec.dead_letter_grants, dead),
    ):
        for grant in grants:
            gcp.pubsub.TopicIAMMember(
                grant.name, topic=topic, role=grant.role, member=deploy.member(grant.member)
            )


def _field(value: Any, name: str) -> Any:
    """Field ``name`` of a nested output read from a resource: a typed output object,
    or the plain dict an ``Output.all`` resolves it to; ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)
