"""The application factory connects the receivers of the layers above to the signals of those below."""

from manufacturing import create_app
from manufacturing.config import TestConfig
from manufacturing.dispensing.receivers import infusion_dates
from manufacturing.lots.receivers import labelled_lots_problem
from manufacturing.patients.signals import infusions_given, order_cancelling, subject_code_correcting
from manufacturing.processing.receivers import dose_units_of_order
from manufacturing.processing.signals import step_corrected, step_verifying
from manufacturing.quality.receivers import deviation_required
from manufacturing.quality.signals import deviation_affects_product, result_failed
from manufacturing.records.receivers import queue_release_documents, queue_withdrawn_certificate
from manufacturing.release.receivers import alert_released_doses, stop_on_affecting_deviation, stop_on_correction
from manufacturing.release.signals import dose_released, release_withdrawn


def _receivers(signal) -> list:
    return list(signal.receivers_for(object()))


def test_create_app_connects_the_release_and_records_receivers():
    create_app(TestConfig)
    assert alert_released_doses in _receivers(result_failed)
    assert stop_on_correction in _receivers(step_corrected)
    assert stop_on_affecting_deviation in _receivers(deviation_affects_product)
    assert queue_release_documents in _receivers(dose_released)
    assert queue_withdrawn_certificate in _receivers(release_withdrawn)


def test_create_app_connects_the_answers_to_the_questions_of_patients():
    create_app(TestConfig)
    assert labelled_lots_problem in _receivers(subject_code_correcting)
    assert dose_units_of_order in _receivers(order_cancelling)
    assert infusion_dates in _receivers(infusions_given)
    assert deviation_required in _receivers(step_verifying)


def test_a_second_application_connects_each_receiver_once():
    create_app(TestConfig)
    create_app(TestConfig)
    assert _receivers(result_failed).count(alert_released_doses) == 1
    assert _receivers(dose_released).count(queue_release_documents) == 1
