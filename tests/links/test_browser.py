

def test_estimate_and_reschedule_pages_work_by_keyboard_and_pass_axe(
    live_server: LiveServer, browser_page: Any, seeded: Visit
) -> None:
    page = browser_page
    page.goto(_link(live_server, "e", seeded.company.id, seeded.estimate.id) + "?lang=es")
    assert axe_violations(page) == []
    page.get_by_label("Comentario (opcional)").fill("Empiecen el lunes, por favor.")
    page.keyboard.press("Tab")  # from the comment to the Approve button
    assert page.evaluate("document.activeElement.textContent") == "Aprobar presupuesto"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Aprobó este presupuesto")
    assert axe_violations(page) == []
    page.screenshot(path=str(live_server.screenshots / "estimate-approved-es.png"), full_page=True)
    page.goto(_link(live_server, "r", seeded.company.id, seeded.appointment.id))
    assert "can no longer be changed online" in page.inner_text("main")  # a past visit
    assert axe_violations(page) == []
