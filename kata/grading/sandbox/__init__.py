"""The process boundary of grading: the trusted client and the wire it reads, the zygote, and the untrusted
worker that runs learner code."""
