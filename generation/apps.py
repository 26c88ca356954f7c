from django.apps import AppConfig


class GenerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "generation"

    def ready(self) -> None:
        # Cameos sits below generation and asks it, through its ports, to cancel the jobs of
        # people who lost access to a cameo and to take down videos a cameo owner removed.
        from cameos import ports as cameo_ports
        from generation.handlers import (
            cancel_jobs_for_cameo,
            refuse_clip_showing_others_cameos,
            take_down_video_for_cameo,
        )

        cameo_ports.register_job_canceller(cancel_jobs_for_cameo)
        cameo_ports.register_video_takedown(take_down_video_for_cameo)
        cameo_ports.register_clip_check(refuse_clip_showing_others_cameos)

        # Leaving (users.ports): cancel and refund jobs, take down and erase the user's videos.
        from generation.account import generation_erase_for_account, generation_export_for_account
        from sora_social.users import ports as user_ports

        user_ports.register_account_exporter(generation_export_for_account)
        user_ports.register_account_eraser(generation_erase_for_account, order=user_ports.ORDER_GENERATION)
        # An app's API key reads its budget and jobs in flight (apikeys sits below generation).
        from generation.credits import key_usage
        from sora_social.apikeys import ports as apikey_ports

        apikey_ports.register_usage_reader(key_usage)
        # The gpu worker loads its video model before it takes a job (not inside the first one).
        from generation.handlers import warm_video_backend
        from sora_social.common import warmup

        warmup.register("video_backend", warm_video_backend, roles=["gpu"])
        # ... and, on a warm shutdown, finishes the media of the jobs it rendered before it exits.
        from generation.handlers import drain_rendered_media

        warmup.register_shutdown("media_stage", drain_rendered_media)
        # The web process checks prompts against what the demo model can draw (the caption matrix).
        from generation.demo_domain import warm_demo_domain

        warmup.register("demo_domain", warm_demo_domain, roles=["web"])
        # The gpu worker's events (render passes, media, each job's end) feed the metrics.
        from generation import pipeline
        from sora_social.common import metrics

        if metrics.observe_worker_event not in pipeline.WORKER_EVENT_LISTENERS:
            pipeline.WORKER_EVENT_LISTENERS.append(metrics.observe_worker_event)
