/*
 * DLIO mode: a job with dlio_phase set runs one DLIO rank's I/O.  fio still
 * drives the loop (and counts every request), but the engine decides what each
 * io_u does: prep() replaces fio's offset and length with the next request of
 * the rank's plan, on a file of the DLIO dataset, and the job ends when the
 * plan does.  fio's own file is only a placeholder.
 */
#ifndef FIODLIO_DLIO_MODE_H
#define FIODLIO_DLIO_MODE_H

#include "engine.h"

struct fiodlio_dlio;

bool fiodlio_dlio_enabled(struct thread_data *td);
/* The checkpoint root is direct:// (fio must align the buffers for it). */
bool fiodlio_dlio_direct(struct thread_data *td, struct fiodlio_job *job);
/* In fio's parent process: load and check the workload, size fio's buffers. */
int fiodlio_dlio_setup(struct thread_data *td);
/* In the job: take over the state setup() made. */
int fiodlio_dlio_init(struct thread_data *td, struct fiodlio_job *job);
/* 0: io_u carries the next request (req filled); 1: the plan is done. */
int fiodlio_dlio_prep(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u);
/* A request of the plan completed (called from getevents, on the job's thread). */
void fiodlio_dlio_done(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u);
/* queue() asks: is this io_u waiting for the model (answer FIO_Q_BUSY)?  May sleep
 * briefly when nothing is in flight. */
bool fiodlio_dlio_deferred(struct thread_data *td, struct fiodlio_job *job, struct io_u *io_u);
/* Seconds until the model changes on its own (compute end), < 0 if never: how long
 * getevents() may wait for completions. */
double fiodlio_dlio_wait_limit(struct fiodlio_job *job);
/* Around the completions one getevents() hands over: they share one clock read. */
void fiodlio_dlio_reaped(struct fiodlio_job *job, bool start);
/* Bring the model to the present (a step's compute ending, the barrier) without
 * issuing anything: for getevents() while every io_u is in flight. */
void fiodlio_dlio_poll(struct fiodlio_job *job);
void fiodlio_dlio_cleanup(struct thread_data *td, struct fiodlio_job *job);

#endif
